"""The web UI: pure markdown rendering (`ui.render`) and the Gradio shell (`ui.app`)."""
