"""The registry: listing, strict look-up, duplicate and keyword checks."""

import pytest

import zoo
from zoo.models import registry

FIVE = ["encoder_decoder", "many_to_many", "many_to_one", "one_to_many", "one_to_one"]


@pytest.fixture
def scratch_registry():
    saved, examples = dict(registry._REGISTRY), dict(registry._EXAMPLES)
    yield
    registry._REGISTRY.clear()
    registry._REGISTRY.update(saved)
    registry._EXAMPLES.clear()
    registry._EXAMPLES.update(examples)


def test_list_models_lists_the_five_types_sorted():
    names = zoo.list_models()
    assert names == sorted(names)
    assert set(FIVE) <= set(names)
    assert zoo.list_models("many_*") == ["many_to_many", "many_to_one"]
    assert zoo.list_models("nothing*") == []


def test_unknown_name_lists_the_known_models():
    with pytest.raises(ValueError, match="Unknown model name: 'many_to_few'") as info:
        zoo.create_model("many_to_few")
    for name in FIVE:
        assert name in str(info.value)


def test_unknown_keyword_is_named():
    with pytest.raises(ValueError, match=r"\['num_cells'\]"):
        zoo.create_model("many_to_one", vocab_size=10, num_classes=2, num_cells=3)


def test_create_model_records_name_and_kwargs():
    model = zoo.create_model("many_to_one", vocab_size=10, num_classes=2, cell="gru")
    assert model.zoo_spec == {
        "name": "many_to_one",
        "kwargs": {"vocab_size": 10, "num_classes": 2, "cell": "gru"},
    }
    assert registry.model_arguments("many_to_one")["cell"] == "lstm"


def test_duplicate_registration_raises(scratch_registry):
    with pytest.raises(ValueError, match="already registered"):

        @registry.register_model(name="many_to_one")
        def other(*, units=1):
            """Duplicate."""


def test_factories_must_be_keyword_only(scratch_registry):
    with pytest.raises(ValueError, match="keyword-only"):

        @registry.register_model
        def positional(units):
            """Positional."""


def test_registering_a_variant(scratch_registry):
    @registry.register_model
    def tiny_classifier(*, units=4):
        """A tiny many-to-one classifier."""
        return zoo.create_model("many_to_one", units=units, vocab_size=10, num_classes=2)

    assert "tiny_classifier" in zoo.list_models()
    model = zoo.create_model("tiny_classifier", units=3)
    assert model.zoo_spec == {"name": "tiny_classifier", "kwargs": {"units": 3}}


def test_a_variant_carries_its_example(scratch_registry):
    example = registry.Example(kwargs={"units": 3}, inputs={"tokens": ("tokens", 10)},
                               output=(2,))

    @registry.register_model(example=example)
    def tiny_tagger(*, units=4):
        """A tiny many-to-one classifier."""
        return zoo.create_model("many_to_one", units=units, vocab_size=10, num_classes=2)

    assert registry.get_model_example("tiny_tagger") is example
    assert registry.get_model_example("many_to_one").inputs == {"tokens": ("tokens", 20)}
    with pytest.raises(ValueError, match="Unknown model name"):
        registry.get_model_example("nothing")


def test_bad_examples_are_refused(scratch_registry):
    with pytest.raises(ValueError, match=r"Received: tokens=\('words', 10\)"):
        registry.Example(kwargs={}, inputs={"tokens": ("words", 10)}, output=(2,))
    with pytest.raises(ValueError, match="example"):

        @registry.register_model(example={"kwargs": {}})
        def untyped(*, units=1):
            """Example as a plain dict."""
