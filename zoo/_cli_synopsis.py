"""The synopsis of the ``zoo`` command, written from its parser (the README shows it).

``python -m zoo._cli_synopsis`` prints it; tests/test_cli_help.py checks that the
README's block between ``<!-- synopsis:begin -->`` and ``<!-- synopsis:end -->`` is
exactly this text, so the README cannot drift from the parser. ``python -m
zoo._cli_synopsis tune`` prints the block of docs/tuning.md (between
``<!-- tune-synopsis:begin -->`` and ``<!-- tune-synopsis:end -->``), checked alike.

Example:
    >>> print(synopsis().splitlines()[0])
    zoo [--help] [--verbose] [--debug] COMMAND ...   # all three also after COMMAND
"""

import textwrap

WIDTH = 100
COMMON = ("-h", "--help", "--verbose", "--debug")


def _option(action):
    """``[--flag]``, ``[--flag VALUE]`` or ``[--flag a|b]`` (``...`` when it repeats)."""
    flag = action.option_strings[-1]
    if action.nargs == 0:
        return f"[{flag}]"
    if action.choices:
        value = "|".join(action.choices)
    else:
        value = action.metavar or action.dest.upper()
    repeat = " ..." if type(action).__name__ == "_AppendAction" else ""
    return f"[{flag}\xa0{value}{repeat}]"  # one word for the wrapping


def command_line(name, parser):
    """The words of ``zoo NAME``: positionals first, then every option but -h/--verbose/--debug."""
    words = [f"zoo {name}"]
    for action in parser._actions:  # argparse has no public list of a parser's actions
        if action.help == "==SUPPRESS==" or any(o in COMMON for o in action.option_strings):
            continue
        if not action.option_strings:
            word = "|".join(action.choices) if action.choices else action.metavar
            words.append(f"[{word}]" if action.nargs == "?" else word)
    for action in parser._actions:
        if action.option_strings and action.help != "==SUPPRESS==" and not any(
                o in COMMON for o in action.option_strings):
            words.append(_option(action))
    return words


def command_synopsis(name):
    """The synopsis of ``zoo NAME`` alone, wrapped at 100 columns (docs/tuning.md shows tune's).

    Example:
        >>> command_synopsis("tune").split()[:4]
        ['zoo', 'tune', 'RECIPE', '[--epochs']
    """
    from zoo import cli

    parser = cli.build_parser([name])
    sub = next(a for a in parser._actions if a.dest == "command")
    words = command_line(name, sub.choices[name])
    indent = " " * (len(words[0]) + 1)
    lines = textwrap.wrap(" ".join(words), WIDTH, subsequent_indent=indent,
                          break_long_words=False, break_on_hyphens=False)
    return "\n".join(lines).replace("\xa0", " ")


def synopsis():
    """Every command and option of the ``zoo`` parser, wrapped at 100 columns."""
    lines = ["zoo [--help] [--verbose] [--debug] COMMAND ...   # all three also after COMMAND"]
    for name in ("list", "train", "evaluate", "export", "predict", "generate", "tune"):
        lines.append(command_synopsis(name))
    return "\n".join(lines)


if __name__ == "__main__":
    import sys

    # `python -m zoo._cli_synopsis` (the README's block) or `... tune` (docs/tuning.md's)
    print(command_synopsis(sys.argv[1]) if len(sys.argv) > 1 else synopsis())
