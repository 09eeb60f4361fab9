"""A real headless Chromium (Debian's chromium and chromium-driver, which
scripts/test.sh installs) driven by Selenium, for tests of the pages the zoo writes."""

import os
import shutil
import time

import numpy as np
import pytest

CHROMIUM = os.environ.get("ZOO_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("ZOO_CHROMEDRIVER", "/usr/bin/chromedriver")


def require_system_program(path, package):
    """Fail in CI (scripts/test.sh installs `package`), skip elsewhere, when `path` is
    missing: a developer running pytest by hand may not have the Debian package."""
    if os.path.isfile(path) or shutil.which(path):
        return
    message = (f"{path} is missing: install the Debian package {package} "
               f"(bash scripts/test.sh does)")
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


def open_page(path, *, width=1200, height=900):
    """(driver, quit) with `path` (an HTML file) loaded in headless Chromium."""
    require_system_program(CHROMIUM, "chromium")
    require_system_program(CHROMEDRIVER, "chromium-driver")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                 "--disable-gpu", f"--window-size={width},{height}",
                 "--allow-file-access-from-files"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.get("file://" + os.path.abspath(path))
    return driver


def image_states(driver):
    """For every <img> of the loaded page: (src, complete, naturalWidth, naturalHeight)."""
    return driver.execute_script(
        "return Array.from(document.images).map("
        "i => [i.getAttribute('src'), i.complete, i.naturalWidth, i.naturalHeight]);")


def screenshot_pixels(driver, path):
    """Save a full-window screenshot to `path` and return it as an RGB array."""
    import matplotlib.image

    assert driver.save_screenshot(str(path)), "Chromium took no screenshot"
    return (matplotlib.image.imread(str(path))[..., :3] * 255).astype(np.uint8)


def check_page(path, tmp_path, *, images, audio, colours=((214, 39, 40), (31, 119, 180))):
    """Load `path` in headless Chromium: every image decoded at its PNG's size, `audio`
    <audio> elements that can play, and a screenshot that shows more than a blank page."""
    driver = open_page(path)
    try:
        states = image_states(driver)
        assert len(states) == images, states
        for src, complete, width, height in states:
            assert complete and width > 100 and height > 100, (src, width, height)
        players = driver.execute_script(
            "return Array.from(document.querySelectorAll('audio')).map("
            "a => a.canPlayType('audio/ogg; codecs=vorbis'));")
        assert len(players) == audio and all(players), players
        # Each file is read by the browser: its length is known before anyone plays it
        # (a page that loads nothing until play shows every player as 0:00).
        loaded = []
        for _ in range(100):
            loaded = driver.execute_script(
                "return Array.from(document.querySelectorAll('audio')).map("
                "a => [a.readyState, a.duration, a.error ? a.error.code : null]);")
            if all(ready >= 1 or error for ready, _, error in loaded):
                break
            time.sleep(0.1)
        assert all(ready >= 1 and seconds > 1 and not error
                   for ready, seconds, error in loaded), loaded
        pixels = screenshot_pixels(driver, tmp_path / "screenshot.png")
    finally:
        driver.quit()
    assert pixels.shape[0] > 500 and pixels.shape[1] > 1000
    distinct = np.unique(pixels.reshape(-1, 3), axis=0)
    assert len(distinct) > 50, "the screenshot is (almost) one colour"
    # The piano roll's voice colours (default: soprano's tab:red, bass's tab:blue) show.
    for rgb in colours:
        near = np.abs(pixels.astype(int) - rgb).sum(axis=-1) < 30
        assert near.sum() > 50, f"no {rgb} on the screenshot"
    return pixels
