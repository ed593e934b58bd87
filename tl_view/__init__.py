"""Presentation: figures, words and formatting built from engine records — no Streamlit, no training.

Both the dashboard (tl_ui, pages/) and the engine's downloadable reports draw with these modules.
"""
