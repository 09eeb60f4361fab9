# Sourced by scripts/test.sh: the Debian packages some tests need, installed once
# with apt-get when missing (as root, or through sudo):
# - chromium, chromium-driver: the headless browser that loads the chorale page
#   (tests/browser.py, through Selenium);
# - fluidsynth, timgm6mb-soundfont: MIDI -> audio for that page (zoo.music.page).
# Set ZOO_NO_APT=1 to skip; those tests then skip outside CI and fail in CI.
zoo_system_packages() {
    local missing=()
    [ -x /usr/bin/chromium ] || missing+=(chromium)
    [ -x /usr/bin/chromedriver ] || missing+=(chromium-driver)
    command -v fluidsynth >/dev/null 2>&1 || missing+=(fluidsynth)
    [ -f /usr/share/sounds/sf2/TimGM6mb.sf2 ] || missing+=(timgm6mb-soundfont)
    [ "${#missing[@]}" -eq 0 ] && return 0
    if [ "${ZOO_NO_APT:-0}" = "1" ] || ! command -v apt-get >/dev/null 2>&1; then
        echo "[setup] not installing ${missing[*]} (ZOO_NO_APT=1 or no apt-get): the browser" \
             "and audio tests skip (fail in CI)"
        return 0
    fi
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    echo "[setup] installing Debian packages for the browser and audio tests: ${missing[*]}"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
        "${missing[@]}" >/dev/null
}
zoo_system_packages
