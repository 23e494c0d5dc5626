"""The attach console (Textual) over core.source.EngineSource: `app.tui.app.run_console(source)`.

Empty on purpose: importing a screen (or app.render.rich) must not load the app, which imports every screen."""
