"""Presentation: figures, words and formatting built from engine records — no Streamlit, no training.

Both the dashboard (tl_ui, pages/) and the feasibility report draw with these modules; the report's command,
`python -m tl_view feasibility PATH` (feasibility_cli), lives here because writing a report is presentation.
"""
