"""A static listening page for generated pieces, and their audio where FluidSynth is.

:func:`write_page` writes ``index.html`` beside the samples it links: each sample's
piano roll, its measures, links to its MIDI and MusicXML files, and an ``<audio>``
element when :func:`render_audio` could make a sound file. The page uses no script,
font, style sheet or image from outside its folder.

Audio needs the ``fluidsynth`` program and a General MIDI soundfont (Debian/Ubuntu:
``apt-get install fluidsynth fluid-soundfont-gm``, or the smaller
``timgm6mb-soundfont``); ``$ZOO_SOUNDFONT`` names another ``.sf2`` file. Without
them the page says how to get them.
"""

import html
import os
import shutil
import subprocess

SOUNDFONTS = ("/usr/share/sounds/sf2/FluidR3_GM.sf2", "/usr/share/sounds/sf2/default-GM.sf2",
              "/usr/share/sounds/sf2/TimGM6mb.sf2", "/usr/share/soundfonts/default.sf2",
              "/usr/share/soundfonts/FluidR3_GM.sf2")
HOW_TO_LISTEN = ("Install FluidSynth and a General MIDI soundfont to hear the samples here "
                 "(Debian/Ubuntu: <code>sudo apt-get install fluidsynth fluid-soundfont-gm</code>;"
                 " or set <code>ZOO_SOUNDFONT</code> to an .sf2 file) and run the job again; "
                 "until then, open the MIDI files in any player.")


def synthesizer():
    """(fluidsynth program, soundfont) when both are found, else None."""
    program = shutil.which("fluidsynth")
    fonts = [os.environ["ZOO_SOUNDFONT"]] if os.environ.get("ZOO_SOUNDFONT") else SOUNDFONTS
    font = next((f for f in fonts if os.path.isfile(f)), None)
    return (program, font) if program and font else None


def render_audio(midi_path, *, timeout=120):
    """Render a MIDI file to Ogg Vorbis beside it (``<stem>.ogg``) with FluidSynth;
    returns the path, or None when FluidSynth or a soundfont is missing or fails."""
    found = synthesizer()
    if found is None:
        return None
    program, font = found
    out = os.path.splitext(midi_path)[0] + ".ogg"
    try:
        proc = subprocess.run([program, "-ni", "-q", "-T", "oga", "-r", "22050", "-F", out,
                               font, midi_path], capture_output=True, timeout=timeout)
    except (OSError, subprocess.TimeoutExpired):
        return None
    ok = proc.returncode == 0 and os.path.isfile(out) and os.path.getsize(out) > 0
    return out if ok else None  # (a FluidSynth without Ogg output may write nothing)


def _table(rows, header):
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(_fmt(c))}</td>" for c in row) + "</tr>"
                   for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _fmt(value):
    return f"{value:.3f}" if isinstance(value, float) else str(value)


STYLE = """body{font-family:sans-serif;max-width:72em;margin:1em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #bbb;padding:2px 8px;
text-align:right}th{background:#eee}td:first-child,th:first-child{text-align:left}
.sample{border-top:1px solid #ccc;margin-top:1.5em;padding-top:.5em}img{max-width:100%}
.note{background:#fff6d5;padding:.5em;border:1px solid #e5d38a}"""


def write_page(folder, samples, *, title, summary_rows=(), summary_header=(), intro=""):
    """Write ``folder/index.html`` and return its path.

    Args:
        folder: where the samples' files are (links are relative to it).
        samples: dicts with ``title``, ``image`` (PNG file name in `folder`),
            ``files`` (label -> file name: MIDI, MusicXML), ``audio`` (file name or
            None) and ``measures`` (name -> value).
        title: the page's heading.
        summary_rows, summary_header: a table at the top (e.g. measures beside Bach's).
        intro: a sentence under the heading (plain text).
    """
    parts = [f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
             f"<title>{html.escape(title)}</title><style>{STYLE}</style></head><body>",
             f"<h1>{html.escape(title)}</h1>"]
    if intro:
        parts.append(f"<p>{html.escape(intro)}</p>")
    if summary_rows:
        parts.append(_table(summary_rows, summary_header))
    if not any(s.get("audio") for s in samples):
        parts.append(f"<p class='note' id='how-to-listen'>{HOW_TO_LISTEN}</p>")
    for i, sample in enumerate(samples, start=1):
        parts.append(f"<div class='sample' id='sample-{i}'><h2>{html.escape(sample['title'])}"
                     "</h2>")
        parts.append(f"<img src='{html.escape(sample['image'])}' alt='piano roll of "
                     f"{html.escape(sample['title'])}'>")
        if sample.get("audio"):
            parts.append(f"<p><audio controls preload='metadata' src='"
                         f"{html.escape(sample['audio'])}'></audio></p>")
        links = " · ".join(f"<a href='{html.escape(path)}'>{html.escape(label)}</a>"
                           for label, path in sample.get("files", {}).items())
        parts.append(f"<p>{links}</p>")
        rows = [(k, v) for k, v in sample.get("measures", {}).items()]
        if rows:
            parts.append(_table(rows, ("measure", "value")))
        parts.append("</div>")
    parts.append("</body></html>")
    path = os.path.join(folder, "index.html")
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(parts))
    return path
