"""The feasibility check on a user's own images: will transfer learning work, how, and with how many labels?

    uploads.py      a .zip extracted safely into a session folder, or a folder named under a data root
    validate.py     what is usable: classes and counts, sizes and modes, files skipped and why, duplicates
    prepare.py      the usable images as fold views the engine loads as `folder:PATH`
    sweep.py        stage 1 linear probes per candidate, stage 2 fine-tuning depths; SweepReport
    label_curve.py  accuracy against labels per class, with and without transfer, and its extrapolation
    recommend.py    a plain-language recommendation on the lectures' small/large × similar/different grid
    results.py      RunResult, run_plan (synchronous), results_from_jobs (JobManager)
    pipeline.py     next_stage / assemble (the page's loop) and run_feasibility (everything, synchronously)
    errors.py       UploadError, UnusableDatasetError (DatasetError subclasses with a `kind`)
    demo_data.py    generated ImageFolders for tests, benchmarks and demos

The report (Markdown, or HTML with the charts) and the command `python -m tl_view feasibility PATH` that writes
it are presentation: tl_view.feasibility_report and tl_view.feasibility_cli.

Nothing here imports Streamlit; importing this package imports nothing heavy (uploads and validate need only
Pillow), so a page can validate an upload before torch is loaded.
"""
