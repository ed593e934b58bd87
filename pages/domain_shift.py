"""Domain shift: can a linear classifier still tell source from target features? Per epoch, for several runs."""
import pandas as pd
import streamlit as st

from tl_core.runs.config import RunConfig
from tl_core.runs.status import Status
from tl_ui import nav, state
from tl_ui.pickers import all_runs, comparison_for, mine_first
from tl_ui.widgets import chart, pick_runs, redraw_when_bands_are_ready
from tl_view import charts, fmt, glossary, roles
from tl_view.confusion_null import band_snapshots, null_band_for
from tl_view.domain_words import ADAPTATION_READING, domain_head_text
from tl_view.start_point import from_the_start
from tl_view.views import is_active

nav.page_guard(__file__)
manager = state.manager()
who = state.owner()

st.title("Domain shift")
st.markdown(
    "Before training and after every epoch a logistic regression is trained to tell **source** features from "
    "**target** features; "
    "its held-out accuracy is the *domain-confusion accuracy*. Near **0.5** the network represents both domains "
    "alike (what DANN aims for); near 1 they stay apart, and the proxy **A-distance** 2(1 − 2·error) says the "
    "same on a 0–2 scale.")
with st.expander("What the words mean", icon=":material/menu_book:"):
    st.markdown(glossary.glossary_markdown((
        'domain shift', 'domain confusion', 'proxy A-distance', 'dann', 'λ ramp steepness'
    )))
st.caption("Epoch 0 is the network each run starts from, measured before any training on this pair: runs that "
           "start from the same network start from the same point. "
           "The grey band is where the same probe lands on these very features when the domain labels are "
           "shuffled (95% of 200 shuffles, from the first run's features): a curve inside it is as mixed as a "
           "linear probe can tell. It cannot tell *why*: features that collapse (every image alike) read 0.5 too, "
           "so read it beside the target accuracy. "
           "DANN's defaults — learning rate, domain weight, discriminator and, on the built-in digit pairs, "
           "training length — were chosen by reverse validation, scored on labelled source data with no target "
           "labels (`python -m tl_core select`; see the README).")

rows = [r for r in mine_first(all_runs(manager), who) if r["status"] != Status.QUEUED]
if not rows:
    st.info("No runs yet. Start one on the Experiment page — choose strategy **dann**: its twin without adaptation (the same recipe, domain weight 0) trains beside it.")
    st.page_link(nav.page("pages/experiment.py"), label="Go to Experiment", icon=":material/science:")
    st.stop()

watch = state.watched() or {}
default = [rid for rid in (watch.get("run"), watch.get("baseline")) if rid]
if not default:  # the newest DANN run and its comparison, else the newest run
    dann = next((r for r in rows if roles.learns_from_source_labels(r["strategy"], adapting=True)
                 and not roles.is_without(RunConfig.from_dict(r["config"]))), None)
    first = dann or rows[0]
    default = [first["run_id"]] + [rid for rid in [comparison_for(manager, first["run_id"], rows)] if rid]
    source_only = next((r for r in rows if roles.learns_from_source_labels(r["strategy"], adapting=False)), None)
    if dann and source_only:
        default.append(source_only["run_id"])
chosen = pick_runs(rows, "Runs", key="ds-runs", default=default,
                   help="Compare e.g. DANN against its twin without adaptation on the same pair of domains.")
if not chosen:
    st.info("Pick one or more runs above.")
    st.stop()



def draw() -> None:
    views = [v for v in map(manager.view, chosen) if v is not None]
    curves = roles.role_curves([(v.config, label, from_the_start(v.history, v.snapshots))
                                for v, label in zip(views, roles.run_labels(views))])

    if not any(c.series("domain_confusion_acc")[0] for c in curves):
        st.warning("These runs recorded no domain confusion: it is measured on feature snapshots, so give the run a "
                   "snapshot size above 0.")

    left, right = st.columns(2)
    with left:
        chart(charts.domain_confusion_chart(curves, height=380, uirevision="ds-dc",
                                            null_band=null_band_for([path for v in views for path in
                                                                    band_snapshots(v.snapshots, v.status.terminal)])),
              key="ds-dc", download="domain-confusion")
    with right:
        chart(charts.target_accuracy_chart(curves, height=380, uirevision="ds-acc",
                                           epochs_like="domain_confusion_acc"),
              key="ds-acc", download="target-accuracy")
    st.caption(ADAPTATION_READING)

    # A run with the adversarial weight at 0 (DANN's "without adaptation" twin) trains no domain head worth drawing.
    heads = [c for c, v in zip(curves, views) if c.series("domain_head_acc")[0] and not roles.is_without(v.config)]
    left, right = st.columns(2)
    with left:
        chart(charts.a_distance_chart(curves, height=380, uirevision="ds-ad"), key="ds-ad", download="a-distance")
    if heads:
        with right:
            chart(charts.metric_chart(heads, "domain_head_acc", height=380, chance=0.5, chance_text="chance",
                                      y_range=[0.3, 1.02], title="DANN's own domain head (during training)"),
                  key="ds-head", download="dann-domain-head")
        st.markdown(domain_head_text(heads))

    table = pd.DataFrame([{
        "run": c.label, "strategy": roles.strategy_text(v.config),
        "domains": f"{v.config.source} → {v.config.target}",
        "target accuracy": fmt.pct((v.history[-1] if v.history else {}).get("target_acc")),
        "domain confusion": fmt.pct((v.history[-1] if v.history else {}).get("domain_confusion_acc")),
        "A-distance": f"{v.history[-1]['a_distance']:.2f}" if v.history and "a_distance" in v.history[-1] else "–",
        "status": v.status.value,
    } for c, v in zip(curves, views)])
    st.dataframe(table, hide_index=True, width="stretch")


live = any(is_active(manager.view(rid)) for rid in chosen)
st.fragment(run_every=2 if live else None)(draw)()  # one element tree whether live or not
if not live:
    redraw_when_bands_are_ready()
