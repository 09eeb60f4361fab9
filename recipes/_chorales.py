"""Shared part of the chorale recipes (chorale_generation, chorale_harmonization)."""


def load_chorales(voices, split, *, max_chorales=0, data_dir=None):
    """One split of ``bach_chorales/<voices>`` ("soprano" or "four_voices") as a
    ``tf.data.Dataset``; with ``max_chorales`` > 0, built from only the first
    ``max_chorales`` chorales of the corpus (a quick subset, its own config)."""
    import zoo.data

    if not max_chorales:
        return zoo.data.load(f"bach_chorales/{voices}", split, data_dir=data_dir)
    from zoo.data.builders.bach_chorales import BachChoralesConfig

    return zoo.data.load("bach_chorales", split, data_dir=data_dir, config=BachChoralesConfig(
        name=f"{voices}_first_{max_chorales}", voices=voices, max_chorales=max_chorales))
