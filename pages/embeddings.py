"""Embeddings: a run's feature maps with and without transfer side by side, walked through epoch by epoch."""
import streamlit as st

from tl_core.runs import pairs
from tl_ui import live, maps, nav, state
from tl_ui.pickers import comparison_for, map_runs
from tl_ui.widgets import chart, run_label
from tl_view import charts, glossary, roles
from tl_view.images import predicted_by_index, thumbnail_caption, to_hwc
from tl_view.views import is_active

METHODS = {"UMAP": "umap", "PCA": "pca", "t-SNE": "tsne"}

nav.page_guard(__file__)
manager = state.manager()
who = state.owner()

st.title("Embeddings")
st.caption("Where the network puts each image: every point is one test image, coloured by its class; "
           "● source, ◇ target. Transfer should make the classes form clusters, and the two domains share them.")
with st.expander("What the words mean", icon=":material/menu_book:"):
    st.markdown(glossary.glossary_markdown((
        'embedding', 'source', 'target', 'domain shift', 'transfer'
    )))

live.restore(manager, who)  # a new tab opens on the run in its URL, else this user's latest experiment
watch = state.watched() or {}
rows = map_runs(manager, also=[watch.get("run"), watch.get("baseline")])
if not rows:
    st.info("No run has feature snapshots yet. Start one on the Experiment page (snapshot size above 0).")
    st.page_link(nav.page("pages/experiment.py"), label="Go to Experiment", icon=":material/science:")
    st.stop()

labels = {r["run_id"]: run_label(r) for r in rows}
ids = list(labels)
mains = [i for i, r in zip(ids, rows) if not pairs.is_twin(r)]  # a baseline is shown beside its main run
default = watch.get("run") if watch.get("run") in labels else (mains or ids)[0]
pick, other, method_col = st.columns([2, 2, 1.4])
run_id = pick.selectbox("Run", ids, index=ids.index(default), format_func=labels.get, key="emb-run",
                        help="Runs with feature snapshots, newest first.")
partner = comparison_for(manager, run_id, rows)
choices = [""] + [i for i in ids if i != run_id]
if st.session_state.get("emb-partner-for") != run_id:  # a new run: propose its own 'without transfer' run
    st.session_state["emb-partner-for"] = run_id
    st.session_state["emb-partner"] = partner if partner in choices else ""
partner_id = other.selectbox("Side by side with", choices, key="emb-partner",
                             format_func=lambda rid: labels.get(rid, "nothing (one map)"),
                             help="By default the run's own 'without transfer' twin, when it has one.")
with method_col:
    ready = state.umap_ready()
    st.session_state.setdefault("emb-method", "UMAP" if ready else "PCA")
    method = st.segmented_control("Method", list(METHODS), key="emb-method",
                                  help="UMAP: clusters (a few seconds per map). PCA: instant, linear. "
                                       "t-SNE: clusters, slowest (last snapshot only).") or "PCA"
    if method == "UMAP" and not ready:
        st.caption("UMAP is still warming up (once per server): PCA meanwhile.")
        method = "PCA"
n_neighbors, min_dist = 15, 0.1
if method == "UMAP":
    with st.popover("UMAP settings", icon=":material/tune:"):
        n_neighbors = st.slider("n_neighbors", 2, 100, 15, key="emb-nn",
                                help="How many neighbours shape the layout: small = local detail, large = global shape.")
        min_dist = st.slider("min_dist", 0.0, 0.99, 0.1, 0.05, key="emb-md",
                             help="How tightly points may pack together: small = dense clusters.")


def name_of(view) -> str:
    return view.config.name or view.config.strategy or view.run_id


def draw() -> None:
    main = manager.view(run_id)
    base = manager.view(partner_id) if partner_id else None
    views = [v for v in (main, base) if v is not None]
    without = [roles.is_without(v.config) for v in views]
    if len(views) == 2 and without.count(True) == 1:  # a run and its 'without' partner
        if without[0]:
            views = views[::-1]  # with transfer (or adaptation) on the left, always
        titles = [roles.side_label(v.config).capitalize() for v in views]
    else:
        titles = [name_of(v) for v in views]
    method_key = METHODS[method]

    per_run = []
    with st.spinner(f"Computing {method} maps (cached afterwards)…"):
        for view, title in zip(views, titles):
            snapshots = view.snapshots[-1:] if method_key == "tsne" else view.snapshots
            if not snapshots:
                per_run.append((view, title, {}))
                continue
            paths = [p for _, p in snapshots]
            try:
                coords = maps.shared_maps(paths, method_key, n_neighbors, min_dist)
            except (OSError, ValueError) as err:
                st.warning(f"The snapshots of {labels.get(view.run_id, view.run_id)} cannot be mapped: {err}")
                return
            per_run.append((view, title, dict(zip([e for e, _ in snapshots], zip(paths, coords)))))

    all_epochs = sorted({e for _, _, by_epoch in per_run for e in by_epoch})

    def panels_at(epoch: int):
        out = []
        for _view, title, by_epoch in per_run:
            if not by_epoch:
                out.append(charts.empty_panel(title))
                continue
            e = max([e for e in by_epoch if e <= epoch] or [min(by_epoch)])  # nearest earlier snapshot
            path, coords = by_epoch[e]
            out.append(maps.panel(f"{title} · {'before training' if e == 0 else f'epoch {e}'}", path, coords))
        return out

    classes = list(maps.class_names(main.config.target, main.config.img_size))
    frames = [("before" if e == 0 else str(e), panels_at(e)) for e in all_epochs]
    shown = frames[-1][1] if frames else [charts.empty_panel(t) for t in titles]
    fig = charts.embedding_figure(shown, classes, height=540, frames=frames if len(frames) > 1 else (),
                                  uirevision=f"emb-{run_id}-{partner_id}-{method_key}", axis_range=1.1)
    event = chart(fig, key="emb-maps", download="embeddings", on_select="rerun",
                  selection_mode=("points", "box", "lasso"))
    hint = "Hover a point for its class and image number; drag a lasso around points to see their images below."
    if len(frames) > 1:
        hint = ("▶ Play walks through the epochs in one frame of reference (fitted on the last snapshot), so points "
                "move instead of reshuffling. " + hint)
    st.caption(hint)
    _thumbnails(event, views)


def _thumbnails(event, views) -> None:
    points = (event.selection.get("points") if event and event.selection else None) or []
    picked = [p["customdata"] for p in points if p.get("customdata")][:120]
    if not picked:
        return
    config = views[0].config.to_dict()
    by_domain = {"source": {}, "target": {}}
    for domain, index, name in picked:
        by_domain[domain].setdefault(int(index), name)
    evaluated = views[0].status.terminal and manager.store.run_dir(views[0].run_id).read_json("evaluation.json")
    wrong = predicted_by_index(evaluated or None)
    classes = list(maps.class_names(config["target"], int(config["img_size"])))
    cols = st.columns(2)
    for col, domain in zip(cols, ("source", "target")):
        if not by_domain[domain]:
            continue
        images = maps.test_images(config[domain], int(config["img_size"]))
        idx = [i for i in by_domain[domain] if i < len(images)][:60]
        predicted = {i: (classes[wrong[i]] if i in wrong else by_domain[domain][i]) for i in idx} \
            if domain == "target" and evaluated else {}
        col.markdown(f"**{len(by_domain[domain])} selected {domain} images** ({config[domain]})"
                     + (f" — class, then what {views[0].config.name or 'the run'} predicts (✓ right, ✗ wrong)"
                        if predicted else " — class"))
        col.image([to_hwc(images[i]) for i in idx], width=max(48, int(images.shape[-1])),
                  caption=[thumbnail_caption(by_domain[domain][i], predicted.get(i)) for i in idx])


live = any(is_active(manager.view(rid)) for rid in (run_id, partner_id) if rid)
st.fragment(run_every=3 if live else None)(draw)()  # one element tree whether live or not
