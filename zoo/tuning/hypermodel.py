"""`HyperModel`: a recipe's model as a keras-tuner hypermodel.

A recipe (see ``zoo.recipe``) provides ``Config`` (a dataclass whose ``model``
dict holds the ``zoo.create_model`` keyword arguments), ``load_data``,
``build_model`` and ``SEARCH_SPACE``. The hypermodel turns one set of
hyperparameter values into a configuration and lets the recipe build, compile
and train the model from it; no model code lives here.
"""

import collections
import dataclasses
import importlib
import inspect

import keras
import keras_tuner

from zoo.recipe import recipe_name
from zoo.training import trainer
from zoo.tuning.space import SearchSpace

TRAINING_NAMES = ("learning_rate", "batch_size")
# Configuration fields that a hyperparameter may not name.
_RESERVED = ("model", "model_name", "name", "epochs", "seed")
_DATA_CACHE_SIZE = 4


def model_name(config):
    """The registry name of the model a configuration builds (or None)."""
    name = (getattr(config, "model", None) or {}).get("name")
    return name or getattr(config, "model_name", None)


def factory_arguments(name):
    """The keyword arguments the registered model `name` accepts.

    Returns a ``(arguments, open)`` pair: ``arguments`` maps each keyword-only
    argument to its default; ``open`` is True when the factory also takes
    ``**kwargs`` (any name may then be valid) or when `name` is not in the
    registry (nothing is known about it).
    """
    if name is None:
        return {}, True
    try:
        registry = importlib.import_module("zoo.models.registry")
        importlib.import_module("zoo.models")  # registers the factories
        factory = registry.get_model_factory(name)
    except (ImportError, ValueError):
        return {}, True
    params = inspect.signature(factory).parameters.values()
    arguments = {p.name: p.default for p in params if p.kind == p.KEYWORD_ONLY}
    return arguments, any(p.kind == p.VAR_KEYWORD for p in params)


class HyperModel(keras_tuner.HyperModel):
    """A keras-tuner hypermodel over a recipe's model and training settings.

    Hyperparameter names that are ``zoo.create_model`` arguments (``cell``,
    ``units``, ``num_layers``, ``bidirectional``, ``dropout``,
    ``embedding_dim``, ``attention``, ...) go into the configuration's
    ``model`` dict; ``learning_rate`` and ``batch_size`` (and any other
    ``Config`` field) go into the configuration itself. ``build(hp)`` then
    calls the recipe's ``build_model`` (which compiles the optimizer with
    ``config.learning_rate``); ``fit(hp, model)`` trains on the recipe's
    data, loaded again with the trial's ``batch_size`` when that is tuned.

    Every hyperparameter has a default: the configuration's own value when it
    has one, else the spec's ``default``. So ``build`` with empty
    ``HyperParameters`` gives exactly the recipe's default model.

    Args:
        recipe: a recipe module (``Config``, ``load_data``, ``build_model``,
            ``SEARCH_SPACE``).
        config: the base configuration; defaults to ``recipe.Config()``.
        search_space: dict name -> spec (see ``zoo.tuning.space``); defaults
            to ``recipe.SEARCH_SPACE``.
        data: optional already loaded ``recipe.load_data(config)`` result.
        data_dir: passed to ``recipe.load_data``.
        fit_verbose: ``verbose`` for ``model.fit`` (keras-tuner's own
            ``verbose``, which it passes on to ``fit``, is ignored).

    Example:
        ```python
        hm = HyperModel(zoo.recipe.get_recipe("japanese_vowels"))
        model = hm.build(keras_tuner.HyperParameters())  # the default model
        hp = keras_tuner.HyperParameters()
        hp.values["units"] = 64
        model = hm.build(hp)  # the same model with 64 units per layer
        ```
    """

    def __init__(
        self, recipe, config=None, search_space=None, *, data=None, data_dir=None, fit_verbose=0
    ):
        super().__init__(name=recipe_name(recipe), tunable=True)
        self.recipe = recipe
        self.config = recipe.Config() if config is None else config
        if not dataclasses.is_dataclass(self.config):
            raise ValueError(
                f"The recipe configuration must be a dataclass instance. "
                f"Received: {type(self.config).__name__}"
            )
        if search_space is None:
            search_space = getattr(recipe, "SEARCH_SPACE", None) or {}
        self.search_space = search_space
        self.data_dir = data_dir
        self.fit_verbose = fit_verbose
        self._fields = {f.name for f in dataclasses.fields(self.config)}
        self._factory_args, self._factory_open = factory_arguments(model_name(self.config))
        self._check_names()
        self.space = SearchSpace(search_space, defaults=self._config_defaults())
        self._data = collections.OrderedDict()
        if data is not None:
            self._data[self._data_key(self.config)] = data

    # -- names ------------------------------------------------------------

    def _model_kwargs(self):
        return dict(getattr(self.config, "model", None) or {})

    def is_model_argument(self, name):
        """True when `name` goes to ``create_model`` rather than to the configuration."""
        if name in TRAINING_NAMES:
            return False
        if name in self._model_kwargs() or name in self._factory_args:
            return True
        return name not in self._fields

    def _check_names(self):
        for name in self.search_space:
            if name in _RESERVED:
                raise ValueError(
                    f"Hyperparameter {name!r} cannot be tuned; it names a fixed part of the "
                    f"configuration (reserved: {list(_RESERVED)})."
                )
        unknown = [n for n in self.search_space if not self.known_name(n)]
        if unknown and not self._factory_open:
            raise ValueError(
                f"The search space names {unknown}, which model "
                f"{model_name(self.config)!r} does not take. Accepted model arguments: "
                f"{sorted(self._factory_args)}; training settings: {sorted(TRAINING_NAMES)}; "
                f"other configuration fields: {sorted(self._fields - set(_RESERVED))}."
            )

    def known_name(self, name):
        """True when `name` is known to be a model argument or a configuration field."""
        return (
            name in TRAINING_NAMES
            or name in self._fields
            or name in self._model_kwargs()
            or name in self._factory_args
        )

    def _config_defaults(self):
        model = self._model_kwargs()
        defaults = {}
        for name in self.search_space:
            if self.is_model_argument(name):
                if name in model:
                    defaults[name] = model[name]
                elif name in self._factory_args:
                    default = self._factory_args[name]
                    if default is not inspect.Parameter.empty:
                        defaults[name] = default
            elif name in self._fields:
                defaults[name] = getattr(self.config, name)
        return defaults

    # -- configuration ----------------------------------------------------

    def configure(self, values):
        """The recipe configuration for hyperparameter `values` (a dict)."""
        model = self._model_kwargs()
        fields = {}
        for name, value in values.items():
            if self.is_model_argument(name):
                model[name] = value
            else:
                fields[name] = value
        if "model" in self._fields:
            fields["model"] = model
        return dataclasses.replace(self.config, **fields)

    def values(self, hp):
        """Declare the search space on `hp` and return its current values."""
        return self.space.register(hp)

    # -- data -------------------------------------------------------------

    def _data_key(self, config):
        # Everything but the model and the optimizer may shape the data.
        return tuple(
            (name, repr(getattr(config, name)))
            for name in sorted(self._fields)
            if name not in ("model", "learning_rate", "epochs")
        )

    def data_for(self, config):
        """The recipe's data for `config` (cached; reloaded when e.g. the batch size changes)."""
        key = self._data_key(config)
        if key not in self._data:
            self._data[key] = self.recipe.load_data(config, data_dir=self.data_dir)
            while len(self._data) > _DATA_CACHE_SIZE:
                self._data.popitem(last=False)
        self._data.move_to_end(key)
        return self._data[key]

    @property
    def data(self):
        """The data of the base configuration."""
        return self.data_for(self.config)

    # -- keras-tuner hooks -------------------------------------------------

    def build(self, hp):
        config = self.configure(self.values(hp))
        return self.recipe.build_model(config, self.data_for(config))

    def fit(self, hp, model, *args, **kwargs):
        config = self.configure(self.values(hp))
        if not args and "x" not in kwargs:
            data = self.data_for(config)
            args = (data.train,)
            if getattr(data, "validation", None) is not None:
                kwargs.setdefault("validation_data", data.validation)
        kwargs.setdefault("epochs", config.epochs)
        # As the trainer: a dataset is shuffled by its pipeline, so fit does not (Keras would
        # otherwise warn, every trial, that it ignores shuffle=True).
        kwargs.setdefault("shuffle", trainer.fit_shuffles(args[0] if args else kwargs["x"]))
        kwargs["verbose"] = self.fit_verbose  # keras-tuner passes its own verbosity on
        return model.fit(*args, **kwargs)

    # -- checks before a sweep ----------------------------------------------

    def reported_metrics(self, model=None):
        """The metric names that ``fit`` reports for the default model.

        Builds the default model (unless given) and evaluates it on the whole
        validation split (the training split when there is none), so the
        compiled metrics are known by name; returns those names and their
        ``val_`` forms when the recipe has validation data.

        The split is read to its end on purpose: the recipes' pipelines cache
        their examples, and a partial read of a cached pipeline (one batch,
        ``take(1)``) may leave a truncated cache behind, which every later
        read, the trials' validation included, would then take for the whole
        split.
        """
        data = self.data
        if model is None:
            model = self.build(keras_tuner.HyperParameters())
        validation = getattr(data, "validation", None)
        batches = validation if validation is not None else data.train
        logs = model.evaluate(batches, verbose=0, return_dict=True)
        names = sorted(logs)
        if validation is not None:
            names += [f"val_{n}" for n in names]
        return names

    def check_model_arguments(self):
        """Build the model once per search-space name not known to be valid.

        Raises:
            ValueError: the model factory refused the argument.
        """
        for name in self.search_space:
            if self.known_name(name):
                continue
            config = self.configure({name: self.space.specs[name]["default"]})
            try:
                self.recipe.build_model(config, self.data_for(self.config))
            except (TypeError, ValueError) as err:
                if name not in str(err):
                    raise
                raise ValueError(
                    f"The search space names {name!r}, which model "
                    f"{model_name(self.config)!r} does not take ({err})."
                ) from err
            finally:
                keras.backend.clear_session()
