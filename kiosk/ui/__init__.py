"""The kiosk's Kivy UI: the only package that imports kivy.

Kivy reads its environment and its configuration when first imported and when the window is
created, so `launch` prepares both before anything of kivy is imported; the CLI imports this
package lazily and nothing else of the kiosk imports it.
"""

from __future__ import annotations

import os
from pathlib import Path

from kiosk.container import Container


def prepare_environment(data_dir: Path) -> None:
    # Kivy writes its config.ini and logs under KIVY_HOME; keep them with the kiosk's data
    # rather than in the home directory of whichever account runs the kiosk.
    os.environ.setdefault("KIVY_HOME", str((Path(data_dir) / "kivy").resolve()))
    # Our own options must not be parsed by Kivy as its own.
    os.environ["KIVY_NO_ARGS"] = "1"
    # Kivy's default mode takes over sys.stderr and the root logger (every library's debug
    # records, our one-line errors re-wrapped as warnings); MIXED keeps it to its own logger.
    os.environ.setdefault("KIVY_LOG_MODE", "MIXED")


def configure_kivy(settings) -> None:
    from kivy.config import Config

    # A kiosk must not quit on Esc, and a right click must not leave a red multitouch dot.
    Config.set("kivy", "exit_on_escape", "0")
    Config.set("input", "mouse", "mouse,disable_multitouch")
    Config.set("graphics", "fullscreen", "auto" if settings.fullscreen else "0")
    # No multisampling: on a kiosk PC without a GPU (Mesa's software renderer) it costs the
    # camera preview 1.6-3.5x its frame rate (bench/ui.py), for smoother oval edges only.
    Config.set("graphics", "multisamples", "0")
    Config.set("graphics", "width", str(settings.window_width))
    Config.set("graphics", "height", str(settings.window_height))


def launch(
    container: Container,
    *,
    demo: bool = False,
    screenshot: Path | None = None,
    exit_after: float | None = None,
) -> int:
    """Runs the resident's UI on the container's devices until it is closed; returns the
    exit code."""
    prepare_environment(container.settings.data_dir)
    configure_kivy(container.settings)
    from kiosk.ui.run_app import KioskRunApp  # creates the window: after configure_kivy

    runner = container.build_runner()
    app = KioskRunApp(container, runner, screenshot=screenshot, exit_after=exit_after)
    return app.execute()


PANEL = (1920, 1080)  # the kiosk's screen


def render_tour(settings, out: Path, languages, *, care_modes=(False,)) -> int:
    """`kiosk tour`: every screen in each of `languages` to <out>/<language>/<state>.png,
    offscreen, in one window; returns the exit code."""
    prepare_environment(settings.data_dir)
    os.environ.setdefault("SDL_VIDEODRIVER", "offscreen")
    configure_kivy(
        settings.model_copy(
            update={"fullscreen": False, "window_width": PANEL[0], "window_height": PANEL[1]}
        )
    )
    from kiosk.ui import tour as tour_module  # creates the window: after configure_kivy

    done = tour_module.run(
        Path(out),
        list(languages),
        kiosk_id=settings.kiosk_id,
        site=settings.site,
        care_modes=care_modes,
    )
    for name in done.unsettled:
        print(f"kiosk tour: {name} was still changing when it was saved", flush=True)
    print(f"kiosk tour: {len(done.written)} screens written to {out}", flush=True)
    return 0
