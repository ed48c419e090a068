"""`deepcolor serve`'s options reach the app's settings (the server itself is not started here)."""

from __future__ import annotations

from click.testing import CliRunner


def test_options_reach_the_settings(monkeypatch):
    import uvicorn

    import deepcolor.serve
    from deepcolor.cli.serve import command

    made: dict = {}

    def create_app(settings):
        made["settings"] = settings
        return object()

    def run(self, sockets=None):
        made["sockets"] = sockets

    monkeypatch.setattr(deepcolor.serve, "create_app", create_app)
    monkeypatch.setattr(uvicorn.Server, "run", run)
    result = CliRunner().invoke(
        command,
        ["--port", "0", "--allowed-host", "photos.lan", "--allowed-host", "nas", "--body-timeout", "7.5"],
    )
    assert result.exit_code == 0, result.output
    settings = made["settings"]
    assert settings.allowed_hosts == ["photos.lan", "nas"] and settings.body_timeout_s == 7.5
    assert settings.host == "127.0.0.1" and settings.host_allowed("nas") and not settings.host_allowed("x.y")
    (listener,) = made["sockets"]  # bound by the command, before the models load
    assert listener.fileno() == -1  # closed again when the server stopped


def test_a_bad_body_timeout_is_a_usage_error():
    from deepcolor.cli.serve import command

    result = CliRunner().invoke(command, ["--body-timeout", "0"])
    assert result.exit_code == 2 and "--body-timeout" in result.output
