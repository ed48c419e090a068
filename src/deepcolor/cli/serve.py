"""`deepcolor serve`: the web page and the HTTP API on this machine (FastAPI app run by uvicorn).

Binds 127.0.0.1 by default: only this machine can reach it. Another address needs `--token`, which every API
call must then send as ``Authorization: Bearer TOKEN``. Requests must name a served host in their Host header
(the loopback names, `--host`, `--allowed-host`) and cross-origin posts are refused. The port is bound here,
before the models load: a port in use is one line and exit 2. The models load once at start; the work runs
in a pool of `--workers` threads (one PyTorch thread each, set once), with `--queue` places to wait in; past
them a request gets a 503. Ctrl-C or SIGTERM lets running requests finish, then stops.
"""

from __future__ import annotations

import errno
import socket
import sys

import click

from deepcolor.cli import batch


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to listen on. Anything but loopback needs --token.",
)
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True, help="TCP port.")
@click.option(
    "--model",
    default="default",
    show_default=True,
    help="Model used when a request names none: a shipped name or alias, or a weights file.",
)
@click.option(
    "--device",
    default="auto",
    show_default=True,
    help="auto, cpu, cuda, cuda:1, mps.",
    callback=batch.check_device,
)
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=None,
    help="Worker threads running the requests [default: the CPU cores this process may use].",
)
@click.option(
    "--queue",
    type=click.IntRange(min=0),
    default=None,
    help="Requests that may wait for a worker before new ones get 503 [default: 4 x workers, at least 8].",
)
@click.option(
    "--max-upload-mb",
    type=click.FloatRange(min=0, min_open=True),
    default=50.0,
    show_default=True,
    help="Largest accepted upload, in MB (refused with 413 while it streams in).",
)
@click.option(
    "--max-pixels",
    type=click.IntRange(min=1),
    default=100_000_000,
    show_default=True,
    help="Largest accepted image, width x height (refused with 413 before decoding).",
)
@click.option(
    "--max-video-seconds",
    type=click.FloatRange(min=0, min_open=True),
    default=120.0,
    show_default=True,
    help="Longest clip a video job takes, in seconds (refused with 413).",
)
@click.option(
    "--allowed-host",
    "allowed_hosts",
    multiple=True,
    metavar="NAME",
    help="A further host name requests may be addressed to (repeatable); others get 400.",
)
@click.option(
    "--body-timeout",
    type=click.FloatRange(min=0, min_open=True),
    default=60.0,
    show_default=True,
    help="Seconds within which a request's whole body must arrive (else 408).",
)
@click.option(
    "--token",
    envvar="DEEPCOLOR_TOKEN",
    default=None,
    help="Bearer token every API call must send (or set $DEEPCOLOR_TOKEN).",
)
def command(
    host: str,
    port: int,
    model: str,
    device: str,
    workers: int | None,
    queue: int | None,
    max_upload_mb: float,
    max_pixels: int,
    max_video_seconds: float,
    allowed_hosts: tuple[str, ...],
    body_timeout: float,
    token: str | None,
) -> None:
    """Serve the deepcolor page and HTTP API on this machine.

    Open http://127.0.0.1:8000/ in a browser; the API is described at /docs. Photos are processed in memory
    and never leave this machine.
    """
    from deepcolor.serve.settings import Settings, default_workers, is_loopback

    if token is not None and not token.strip():
        raise click.BadParameter("must not be empty", param_hint="--token")
    if not is_loopback(host):
        if token is None:
            raise click.UsageError(
                f"--host {host} lets other machines connect; pass --token TOKEN too (or set $DEEPCOLOR_TOKEN)"
            )
        batch.echo_warning(f"listening on {host}: other machines can reach this server (token required)")
    try:
        from deepcolor.device import pick_device
        from deepcolor.inference.weights import resolve_weights

        pick_device(device)
        resolve_weights(model)
    except ValueError as error:  # CheckpointError, or a device this machine lacks: one line
        batch.echo_error(str(error))
        sys.exit(2)

    listener = bind(host, port)

    import uvicorn

    from deepcolor.serve import create_app

    workers = workers or default_workers()
    settings = Settings(
        model=model,
        device=device,
        workers=workers,
        queue=queue,
        max_upload_mb=max_upload_mb,
        max_pixels=max_pixels,
        max_video_seconds=max_video_seconds,
        token=token,
        torch_threads=1,
        host=host,
        allowed_hosts=list(allowed_hosts),
        body_timeout_s=body_timeout,
    )
    app = create_app(settings)
    shown = f"[{host}]" if ":" in host else host

    class Server(uvicorn.Server):
        async def startup(self, sockets=None) -> None:  # noqa: ANN001 - uvicorn's signature
            await super().startup(sockets)
            if self.started:
                bound = self.servers[0].sockets[0].getsockname()[1] if self.servers else port
                click.echo(
                    f"deepcolor: serving on http://{shown}:{bound}/ (API: /docs; {workers} workers, "
                    f"model {model}); Ctrl-C stops",
                    err=True,
                )

        async def shutdown(self, sockets=None) -> None:  # noqa: ANN001
            await super().shutdown(sockets)
            click.echo("deepcolor: stopped", err=True)

    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level="warning",
        access_log=False,
        server_header=False,
        timeout_graceful_shutdown=30,
    )
    try:
        Server(config).run(sockets=[listener])
    except KeyboardInterrupt:
        sys.exit(130)
    finally:
        listener.close()


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket on host:port (as uvicorn would make it); a port in use, an address this
    machine lacks or a port it may not open is one line and exit 2."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host.strip("[]"), port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
    except socket.gaierror as error:
        batch.echo_error(f"--host {host}: {error.strerror}")
        sys.exit(2)
    listener = socket.socket(family, kind, proto)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listener.bind(address)
        listener.listen(2048)
    except OSError as error:
        listener.close()
        if error.errno == errno.EADDRINUSE:
            batch.echo_error(f"port {port} is in use")
        else:
            batch.echo_error(f"cannot listen on {host}:{port}: {error.strerror or error}")
        sys.exit(2)
    listener.set_inheritable(True)
    return listener
