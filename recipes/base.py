"""Building blocks shared by this repository's recipes.

The recipe contract itself (``BaseConfig``, ``Data``, overrides, ``run``,
``main_for``) is the library's :mod:`zoo.recipe`; what is here only wires
library parts together the way most recipes want them: a model from
``config.model``, compiled with Adam from the config's learning rate,
clipping and XLA setting.
"""


def create_model(config, data, **extra):
    """``zoo.create_model`` from ``config.model`` and the data-derived kwargs."""
    import zoo

    kwargs = dict(config.model)
    name = kwargs.pop("name")
    kwargs.update(data.model_kwargs)
    kwargs.update(extra)
    return zoo.create_model(name, **kwargs)


def compile_model(model, config, *, loss, metrics=()):
    """Compile with Adam (``config.learning_rate``, ``config.clipnorm``) and ``config.jit``."""
    from zoo import training

    model.compile(
        optimizer=training.make_optimizer(learning_rate=config.learning_rate,
                                          clipnorm=config.clipnorm),
        loss=loss,
        metrics=list(metrics),
        jit_compile=training.jit_compile(config.jit),
    )
    return model


def build_classifier(config, data):
    """The model of a classification recipe, compiled with sparse cross-entropy on logits."""
    import keras

    model = create_model(config, data)
    return compile_model(
        model, config, loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"])


def build_sequence_model(config, data, metrics=()):
    """The model of a per-step (sequence) recipe, compiled with the zoo's
    SequenceLoss and TokenAccuracy, padding (id 0) ignored; `metrics` are added."""
    from zoo import losses

    model = create_model(config, data)
    return compile_model(model, config, loss=losses.SequenceLoss(ignore_class=0),
                         metrics=[losses.TokenAccuracy(ignore_class=0), *metrics])


def evaluate_classifier(model, data, config=None):
    """Test accuracy and loss of a model built by ``build_classifier`` (a recipe's ``evaluate``)."""
    results = model.evaluate(data.test, verbose=0, return_dict=True)
    return {"accuracy": float(results["accuracy"]), "loss": float(results["loss"])}
