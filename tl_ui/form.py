"""The Experiment page's controls: widgets → a RunConfig, each control with a one-sentence help text.

Every widget keeps its value under a fixed key in `st.session_state` (prefix `x_`), initialised once from
RunConfig's defaults. That is what lets "load these settings" (a config file, or a run on the Runs page)
fill the form: `prefill(config)` writes the keys, the widgets pick them up on the next run.
"""
from __future__ import annotations

import json
from dataclasses import dataclass

import streamlit as st

from tl_core.errors import UserError
from tl_core.runs import identity
from tl_core.runs.baselines import ARM_RECIPES, baseline_for
from tl_core.runs.config import RunConfig, config_schema
from tl_core.runs.schema import schema_of
from tl_core.serving.confine import (confine_config, confined_folder, confined_weights_file, name_under, upload_root,
                                     weights_root)
from tl_core.strategies import strategy_class, strategy_names, suggested_lr, suggested_settings
from tl_ui import state
from tl_ui.pickers import finished_runs
from tl_ui.widgets import error, run_label, setting_key, settings_inputs
from tl_view import fmt
from tl_view.config_widgets import choices_of, clamped, freeze_bounds, help_of, label_of, label_options, number_widget
from tl_view.forms import FieldSpec, settings_fields
from tl_view.strips import freeze_strip_html

FOLDER = "folder:"
SELECTED_EPOCHS_KEY = "_x_selected_epochs"  # the epochs this form last set from a strategy's selected length
SETTINGS_KEY = "x_set"  # the strategy settings' widgets: session keys "x_set-<strategy>-<setting>"
SELECTED_SETTINGS_KEY = "_x_selected_settings"  # {widget key: value} this form last set from a pair's selection
NUMBERS = ("epochs", "lr", "weight_decay", "batch_size", "img_size", "seed", "pretrain_epochs", "snapshot_every",
           "snapshot_size")
WEIGHT_LABELS = {
    "source": "Pretrained on the source (task A)",
    "ssl:rotation": "Self-supervised: rotations of the source images (no labels)",
    "ssl:rotation:target": "Self-supervised: rotations of the target's own images (no labels)",
    "imagenet": "ImageNet (timm's published weights)",
    "random": "Random — no transfer",
    "file": "From a weights file",
}
HELP = {  # controls that are no RunConfig field (those take their help from RunConfig's schema)
    "folder": "A folder under the server's data root ($TL_DATA_ROOT) with one sub-folder of images per class.",
    "weights_file": "A .safetensors or .pt state dict under the server's weights root ($TL_WEIGHTS_ROOT).",
    "twin": "Train the same network from random weights on the same labels, to see what transfer buys.",
    "compare": "A finished run whose curves are drawn dashed next to this one.",
    "config_file": "A config.json from the Runs page or a run directory: fills in every control above.",
}


def _defaults() -> dict:
    c = RunConfig()
    return {
        "x_source": c.source, "x_target": c.target, "x_source_folder": "", "x_target_folder": "",
        "x_labels": c.labels_per_class if c.labels_per_class is not None else "all", "x_backbone": c.backbone,
        "x_weights": c.weights, "x_weights_file": "", "x_freeze": c.freeze, "x_strategy": c.strategy,
        **{f"x_{key}": getattr(c, key) for key in NUMBERS}, "x_device": c.device, "x_name": c.name,
        "x_measure_forgetting": c.measure_forgetting, "x_twin": True, "x_compare": "",
    }


D = _defaults()


def init_state() -> None:
    """Bring back the form as the user left it before visiting another page (Streamlit forgets widget values
    of pages not shown). The widgets themselves always get RunConfig's defaults as their default parameter, so
    the browser and the server agree on a value even when the first script run is cut short by a click."""
    backup = st.session_state.get(state.FORM_BACKUP, {})
    for key in D:
        if key not in st.session_state and key in backup:
            st.session_state[key] = backup[key]


def prefill(config: RunConfig) -> None:
    """Write a config into the form's widget keys (call before the widgets are drawn, e.g. in a callback)."""
    s = st.session_state
    for role in ("source", "target"):
        name = getattr(config, role)
        if name.startswith(FOLDER):
            s[f"x_{role}"], s[f"x_{role}_folder"] = FOLDER, name_under(name[len(FOLDER):], upload_root())
        else:
            s[f"x_{role}"] = name
    s["x_labels"] = "all" if config.labels_per_class is None else config.labels_per_class
    s["x_backbone"] = config.backbone
    if config.weights.startswith("file:"):
        s["x_weights"], s["x_weights_file"] = "file", name_under(config.weights[len("file:"):], weights_root())
    else:
        s["x_weights"] = config.weights
    s["x_freeze"] = config.freeze
    s["x_measure_forgetting"] = config.measure_forgetting
    s["x_strategy"] = config.strategy
    for key in NUMBERS:
        s[f"x_{key}"] = getattr(config, key)
    s["x_lr"], s["x_weight_decay"] = float(config.lr), float(config.weight_decay)
    s["x_device"], s["x_name"] = config.device, config.name if config.role == "main" else ""  # a lesson's arm names are not the user's
    _prefill_settings(config)
    s["x_twin"] = config.strategy in strategy_names() and not strategy_class(config.strategy).is_without
    s[SELECTED_EPOCHS_KEY] = None  # the run's own length, whatever it was
    s[SELECTED_SETTINGS_KEY] = {}  # and its own settings


def prefill_from_run(view) -> bool:
    """Fill the form with a run's settings when it is a main run a person set up on the Experiment page; a lesson
    arm, a feasibility stage or a missing run leave the form alone. Returns whether the form was filled."""
    if view is None or view.config.role != "main" or \
            not identity.is_experiment_page_run(view.config.role, view.config.experiment):
        return False
    prefill(view.config)
    return True


def reset() -> None:
    """Callback of "Reset to defaults": every control back to RunConfig's defaults, the saved copy forgotten."""
    s = st.session_state
    for key in [k for k in s if isinstance(k, str) and k.startswith(f"{SETTINGS_KEY}-")]:
        del s[key]
    for key, value in D.items():
        s[key] = value
    s[SELECTED_EPOCHS_KEY] = None
    s[SELECTED_SETTINGS_KEY] = {}
    s[state.FORM_BACKUP] = {k: v for k, v in s.get(state.FORM_BACKUP, {}).items() if not k.startswith("x_")}


def _setting_key(strategy: str, name: str) -> str:
    return setting_key(SETTINGS_KEY, strategy, name)


def _setting_value(spec: FieldSpec, value):
    """`value` as the setting's widget holds it (a number input wants a float for a float setting, not 1)."""
    return {"bool": bool, "int": int, "float": float, "str": str}[spec.kind](value)


def _prefill_settings(config: RunConfig) -> None:
    if config.strategy not in strategy_names():
        return
    for spec in settings_fields(strategy_class(config.strategy).Settings):
        value = (config.settings or {}).get(spec.name, spec.default)
        st.session_state[_setting_key(config.strategy, spec.name)] = _setting_value(spec, value)


@dataclass
class FormResult:
    config: RunConfig
    twin: bool  # also train the matching "without transfer" run
    compare_with: str  # or draw an earlier run dashed next to it ("" for none)
    problem: str = ""  # something the form already knows cannot work (shown instead of training)


def _confined(prefix: str, text: str, resolve) -> tuple[str, str]:
    """(`prefix` + the resolved path, "") for a name under its root; else (the text as typed, why not), the
    reason shown under the box. A box left empty is a problem too (said when Train is pressed, not before)."""
    try:
        return f"{prefix}{resolve(text)}", ""
    except UserError as err:
        if text.strip():
            st.warning(str(err), icon=":material/block:")
        return f"{prefix}{text.strip()}", str(err)


def _dataset_picker(role: str, datasets) -> tuple[str, str]:
    names = [d.name for d in datasets]
    info = {d.name: d for d in datasets}
    options = names + [FOLDER]
    current = st.session_state.get(f"x_{role}")
    if current is not None and current not in options:
        options.append(current)

    def label(name: str) -> str:
        if name == FOLDER:
            return "Your own folder…"
        d = info.get(name)
        return f"{name} (download needed)" if d is not None and not d.offline else name

    default = D[f"x_{role}"]
    choice = st.selectbox(label_of(role), options, key=f"x_{role}", format_func=label, on_change=_use_selected_for_pair,
                          help=help_of(role), index=options.index(default) if default in options else 0)
    if choice == FOLDER:
        path = st.text_input(f"{role.capitalize()} folder", "", key=f"x_{role}_folder", help=HELP["folder"],
                             placeholder="flowers (a folder under the data root)")
        return _confined(FOLDER, path, confined_folder)
    if choice in info:
        st.caption(info[choice].description)
    return choice, ""


def _teacher_rows(manager, target: str):
    return lambda: [r for r in finished_runs(manager) if r["target"] == target]


def controls(manager) -> FormResult:
    """Draw the controls; return the config they describe, with a problem when a browser may not ask for it
    (the schema, the offered names; the full validation and the submission happen when Train is pressed)."""
    from tl_core.backbones import CURATED, check_offered, describe_backbone
    from tl_core.data import list_datasets

    init_state()
    s = st.session_state
    problem = ""

    st.markdown("**1 · Data**")
    datasets = list_datasets()
    source, source_problem = _dataset_picker("source", datasets)
    target, target_problem = _dataset_picker("target", datasets)
    problem = source_problem or target_problem
    labels = st.select_slider("Labelled target images per class", label_options(s.get("x_labels")),
                              value=D["x_labels"], key="x_labels", help=help_of("labels_per_class"))

    st.markdown("**2 · Network**")
    current = s.get("x_backbone", D["x_backbone"])
    try:
        check_offered(current)
    except UserError as err:  # e.g. a run from the command line, loaded from the Runs page: nothing is built
        st.warning(f"{err} The form uses {D['x_backbone']}.", icon=":material/block:")
        current = s["x_backbone"] = D["x_backbone"]
    backbones = list(CURATED) + ([current] if current not in CURATED else [])
    backbone = st.selectbox("Backbone", backbones, key="x_backbone", help=help_of("backbone"),
                            index=backbones.index(D["x_backbone"]))
    img_size = clamped("img_size", int(s.get("x_img_size", D["x_img_size"])))  # before any model is built
    try:
        info = describe_backbone(backbone, img_size)
    except (UserError, ValueError, RuntimeError) as err:
        error(err)
        info = None
    weight_options = list(WEIGHT_LABELS)
    weights = st.radio("Starting weights", weight_options, key="x_weights", format_func=WEIGHT_LABELS.get,
                       help=help_of("weights"), index=weight_options.index(D["x_weights"]))
    if weights == "imagenet" and info is not None and not info.has_imagenet:
        problem = f"timm publishes no ImageNet weights for {backbone}: choose another backbone or other weights."
        st.warning(problem, icon=":material/info:")
    elif weights == "imagenet" and info is not None and not info.imagenet_cached:
        from tl_core.machine.network import is_online

        if not is_online():
            problem = (f"ImageNet weights for {backbone} are not on this disk and this machine is offline: "
                       "choose 'Pretrained on the source' or connect to the internet.")
            st.warning(problem, icon=":material/wifi_off:")
        else:
            st.caption(f"{backbone}'s ImageNet weights will be downloaded on first use.")
    if weights == "file":
        path = st.text_input("Weights file", "", key="x_weights_file", help=HELP["weights_file"])
        weights, refused = _confined("file:", path, confined_weights_file)
        problem = problem or refused

    chosen = strategy_class(s.get("x_strategy", D["x_strategy"]))
    groups = list(info.groups) if info is not None else []
    if s.get("x_freeze", 0) > len(groups):
        s.x_freeze = len(groups)
    low, high = freeze_bounds(len(groups))
    freeze = st.slider("Freeze depth (layer groups kept fixed)", low, high, min(D["x_freeze"], high), key="x_freeze",
                       help=help_of("freeze"), disabled=not chosen.uses_freeze or not groups)
    if groups:
        st.html(freeze_strip_html([(g.name, g.param_count) for g in groups], freeze if chosen.uses_freeze else 0,
                                  trains_anything=chosen.trains_backbone))
        if chosen.freeze_note:
            st.caption(chosen.freeze_note)
    learned_task_a = weights == "source" and chosen.uses_weights  # scratch ignores the weights: no task A
    forgetting = st.checkbox("Measure forgetting of task A (the source task)", key="x_measure_forgetting",
                             value=D["x_measure_forgetting"], disabled=not learned_task_a,
                             help=help_of("measure_forgetting"))

    st.markdown("**3 · Strategy**")
    names = strategy_names()
    st.selectbox("Strategy", names, key="x_strategy", help=help_of("strategy"), index=names.index(D["x_strategy"]),
                 on_change=_use_strategy_defaults)
    cls = strategy_class(s.x_strategy)
    st.caption(cls.summary)
    if cls.default_lr is not None:
        st.caption(f"{s.x_strategy} trains with {cls.optimizer_name}; the learning rate under *More training "
                   f"settings* was set to {cls.default_lr:g}, which suits it.")
    selected = cls.selected_epochs.get((source, target))
    schemas = schema_of(cls.Settings)
    chosen = ", ".join(f"{schemas[k].label} {v} {schemas[k].unit}".strip()
                       for k, v in suggested_settings(s.x_strategy, source, target).items())
    if selected is not None:
        st.caption(f"On {source} → {target}, {s.x_strategy} trains {selected} epochs by default"
                   f"{f', with {chosen}' if chosen else ''}: chosen for this pair without target labels (reverse "
                   "validation, see the README). Fewer epochs finish sooner and adapt less.")
    elif chosen:
        st.caption(f"On {source} → {target}, {s.x_strategy} starts from {chosen}: chosen for this pair without "
                   "target labels (reverse validation, see the README).")
    settings = {}
    if settings_fields(cls.Settings):
        with st.container(key="x-advanced-strategy"), st.expander(f"{s.x_strategy} settings"):
            settings = settings_inputs(s.x_strategy, SETTINGS_KEY, _teacher_rows(manager, target))

    st.markdown("**4 · Training**")
    epochs = _number(st, "epochs", step=1)
    with st.container(key="x-advanced-training"), st.expander("More training settings"):
        c1, c2 = st.columns(2)
        lr = _number(c1, "lr", format="%g", step=1e-3)
        batch_size = _number(c2, "batch_size", step=8)
        img = _number(c1, "img_size", step=8)
        seed = _number(c2, "seed", step=1)
        pretrain = _number(c1, "pretrain_epochs", step=1)
        snap_every = _number(c2, "snapshot_every", step=1)
        snap_size = _number(c1, "snapshot_size", step=100)
        weight_decay = _number(c2, "weight_decay", format="%g", step=1e-4)
        device = c1.selectbox(label_of("device"), choices_of("device"), key="x_device", help=help_of("device"),
                              index=choices_of("device").index(D["x_device"]))
        name = c2.text_input(label_of("name"), D["x_name"], key="x_name", help=help_of("name"),
                             placeholder="optional", max_chars=config_schema()["name"].max_chars)
        st.file_uploader("Start from a saved config (config.json)", type=["json"], key="x_config_file",
                         help=HELP["config_file"], on_change=_load_config_file)
        if s.get("x_config_error"):
            error(s.x_config_error)

    config = RunConfig(
        source=source, target=target, backbone=backbone, weights=weights, strategy=s.x_strategy,
        freeze=int(freeze), labels_per_class=None if labels == "all" else int(labels), epochs=int(epochs),
        batch_size=int(batch_size), lr=float(lr), weight_decay=float(weight_decay), img_size=int(img),
        seed=int(seed), device=device, settings=settings, pretrain_epochs=int(pretrain),
        snapshot_every=int(snap_every), snapshot_size=int(snap_size), name=name.strip(),
        measure_forgetting=bool(forgetting) and learned_task_a)
    return FormResult(config, False, "", problem or _refused(config))


def _refused(config: RunConfig) -> str:
    """Why a browser may not ask for `config` (checked before it is timed or trained), or ""."""
    from tl_core.machine.device import pick_device
    from tl_core.runs.validation import check_browser_config

    try:
        check_browser_config(config)
        pick_device(config.device)  # e.g. cuda on a server without a GPU: said now, before it is timed
    except UserError as err:
        return str(err)
    return ""


def _number(where, name: str, **options):
    """A number input for config field `name`, bounded and explained by RunConfig's schema. A value from an older
    run beyond today's bounds is moved inside them, and the form says so."""
    key, widget = f"x_{name}", number_widget(name)
    current = st.session_state.get(key)
    if isinstance(current, (int, float)) and clamped(name, current) != current:
        st.session_state[key] = clamped(name, current)
        st.warning(f"{widget['label']} {current} is beyond the range {widget['min_value']}–{widget['max_value']}: "
                   f"set to {st.session_state[key]}.", icon=":material/info:")
    return where.number_input(**widget, value=D[key], key=key, **options)


def _use_strategy_defaults() -> None:
    """A new strategy brings its own learning rate (DANN's SGD wants a larger one than AdamW), and its training length
    and settings for the pair, where they were selected."""
    st.session_state["x_lr"] = float(suggested_lr(st.session_state["x_strategy"]))
    _use_selected_for_pair()


def _use_selected_for_pair() -> None:
    """Epochs and strategy settings follow what was selected for the chosen strategy on the chosen pair
    (`Strategy.selected_epochs`, `selected_settings`). Where nothing was, a value this set goes back to its default,
    and one the user typed stays."""
    s = st.session_state
    strategy = s.get("x_strategy", D["x_strategy"])
    pair = (s.get("x_source", D["x_source"]), s.get("x_target", D["x_target"]))
    selected = strategy_class(strategy).selected_epochs.get(pair)
    if selected is not None:
        s["x_epochs"] = s[SELECTED_EPOCHS_KEY] = selected
    elif s.get(SELECTED_EPOCHS_KEY) is not None and s.get("x_epochs") == s[SELECTED_EPOCHS_KEY]:
        s["x_epochs"] = D["x_epochs"]
        s[SELECTED_EPOCHS_KEY] = None
    _use_selected_settings(strategy, pair)


def _use_selected_settings(strategy: str, pair: tuple[str, str]) -> None:
    s = st.session_state
    specs = {spec.name: spec for spec in settings_fields(strategy_class(strategy).Settings)}
    chosen = {_setting_key(strategy, k): _setting_value(specs[k], v)
              for k, v in suggested_settings(strategy, *pair).items()}
    earlier = s.get(SELECTED_SETTINGS_KEY) or {}
    defaults = {_setting_key(strategy, name): spec.default for name, spec in specs.items()}
    for key, value in earlier.items():  # a widget not drawn since holds what this set
        if key in defaults and key not in chosen and s.get(key, value) == value:
            s[key] = defaults[key]
    for key, value in chosen.items():
        s[key] = value
    s[SELECTED_SETTINGS_KEY] = {**{k: v for k, v in earlier.items() if k not in defaults}, **chosen}


def save() -> None:
    """Call after the whole form is drawn: keeps its values while the user visits other pages."""
    state.save_widgets("x_", skip=("x_config_file", "x_config_error"))


def compare_controls(manager, result: FormResult) -> FormResult:
    """The 'without transfer' choice, drawn under the Train button; completes `result`."""
    s = st.session_state
    target = result.config.target
    cls = strategy_class(result.config.strategy)
    without = cls.baseline_label
    recipe = ARM_RECIPES.get(getattr(baseline_for(result.config), "arm", ""))
    twin = st.checkbox(f"Also train it {without} (dashed curves)", D["x_twin"], key="x_twin",
                       help=f"Also trains {recipe}, to see what the difference buys." if recipe else HELP["twin"],
                       disabled=cls.is_without)
    compare = ""
    if cls.is_without:
        st.caption(f"{cls.label.capitalize()} is already the '{without}' case.")
    elif not twin:
        rows = [r for r in finished_runs(manager) if r["target"] == target]
        labels_of = {r["run_id"]: run_label(r) for r in rows}
        if s.get("x_compare", "") not in labels_of:
            s.x_compare = ""
        compare = st.selectbox("…or compare with an earlier run", [""] + list(labels_of), key="x_compare",
                               format_func=lambda rid: labels_of.get(rid, "no comparison"), help=HELP["compare"])
    result.twin, result.compare_with = bool(twin) and not cls.is_without, compare
    return result


def _load_config_file() -> None:
    """Callback of the config uploader: validate the file, then fill the form with it (or say what is wrong)."""
    from tl_core.runs.validation import check_browser_config, validate_config

    upload = st.session_state.get("x_config_file")
    st.session_state.x_config_error = ""
    if upload is None:
        return
    try:
        data = json.loads(upload.getvalue().decode("utf-8"))
        if not isinstance(data, dict):
            raise ValueError("not a JSON object")
        config = RunConfig.from_dict(data)
        check_browser_config(config)  # before anything is built: the schema and the offered names
        validate_config(confine_config(config))  # its paths as names under their roots: nothing else is looked at
    except (ValueError, TypeError, UnicodeDecodeError) as err:
        st.session_state.x_config_error = (f"{upload.name} is not a run config ({err}): upload the config.json "
                                           "of a run.")
        return
    except UserError as err:
        st.session_state.x_config_error = f"{upload.name} cannot run as it is: {err}"
        return
    prefill(config)


def describe(config: RunConfig) -> str:
    """One line about a run for captions: 'fine-tune small_cnn · synth-digits → digits · 10/class'."""
    return (f"{config.strategy} {config.backbone} · {config.source} → {config.target} · "
            f"{fmt.labels(config.labels_per_class)}")
