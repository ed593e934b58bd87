"""One line for every term a student meets on the pages, written once and used as help= tooltips and in the
glossary expander. Plain words, no formulas."""
from __future__ import annotations

TERMS: dict[str, str] = {
    "source": "The task the network learned first (task A), usually with plenty of labels.",
    "target": "The task you care about (task B), usually with few labels; its test images give the accuracy shown.",
    "validation": "Labelled target images kept out of training and used to choose settings and epochs; "
                  "the test images are never used for any choice.",
    "transfer": "Starting from a network trained on the source instead of from random weights.",
    "backbone": "The network that turns an image into a feature vector; a new head on top names the class.",
    "head": "The last, small layer that maps features to the target's classes; it is always new and always trains.",
    "stem": "The backbone's first layers, which see raw pixels and learn edges and colour blobs.",
    "layer group": "A block of consecutive backbone layers that is frozen or trained as a unit.",
    "freeze depth": "How many layer groups, counted from the input, keep their transferred weights unchanged.",
    "linear probe": "Train only a new linear head on frozen features: it measures how useful the features are.",
    "fine-tune": "Keep training the transferred network on the target, usually with small learning rates.",
    "scratch": "Train the same network from random weights: the 'without transfer' case.",
    "embedding": "A 2-D map of the feature vectors: images the network sees alike land close together.",
    "domain shift": "Source and target images differ in how they look (style, background), not only in labels.",
    "domain confusion": "How well a linear classifier tells source features from target features; "
                        "0.5 means it cannot, i.e. the network sees the two domains alike.",
    "proxy A-distance": "Domain confusion rescaled to 0–2: 0 means the domains are indistinguishable, "
                        "2 means they are perfectly separable.",
    "dann": "Domain-adversarial training: a second head tries to tell the domains apart and the backbone "
            "learns to fool it, so its features stop depending on the domain.",
    "λ ramp steepness": "How fast DANN's adversarial weight grows from 0 to its full value over training; "
                        "larger means sooner.",
    "distillation": "A small student network learns to copy a larger teacher's output probabilities.",
    "folds": "The check repeats each setting on different splits of your images; the ± spread across folds "
             "shows how much a result depends on which images were held out.",
    "label budget": "How many labelled images per class the target may train on.",
    "negative transfer": "When starting from a source network ends worse than starting from random weights.",
    "epoch": "One pass over the labelled training images.",
}


def help_for(term: str) -> str:
    return TERMS[term]


def glossary_markdown(terms: tuple[str, ...] | None = None) -> str:
    """A bullet list of terms and their one-line meanings (all of them by default)."""
    return "\n".join(f"- **{term}** — {TERMS[term]}" for term in (terms or tuple(TERMS)))
