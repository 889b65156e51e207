"""`reelserve`: the command line over the SDK.

    reelserve analyze talk.mp4 --task transcribe --wait
    reelserve lipsync talk.mp4 speech.wav --sync-mode loop --face 640,360@0 --wait
    reelserve jobs list --status completed
    reelserve jobs cancel vj_...

Local files given where a URL is expected are uploaded first. The URL and key come from
--url/--api-key, REELSERVE_URL/REELSERVE_API_KEY, or the development key `scripts/serve` wrote.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, get_args

import click
from pydantic import ValidationError
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from reelcore.errors import ReelserveError
from reelcore.schemas import SyncMode, VideoJob
from reelserve.client import Client

console = Console(stderr=True)
DEV_KEY_FILE = Path(".reelserve/dev_api_key")


def _client(ctx: click.Context) -> Client:
    url, key = ctx.obj["url"], ctx.obj["api_key"]
    if not key and DEV_KEY_FILE.is_file():
        key = DEV_KEY_FILE.read_text().strip()
    if not key:
        raise click.UsageError("set REELSERVE_API_KEY or pass --api-key")
    return Client(url, key)


def _source(client: Client, value: str | None) -> str | None:
    """A URL stays as it is; a local file is uploaded and replaced by its signed URL."""
    if value is None or value.startswith(("http://", "https://")):
        return value
    if not Path(value).is_file():
        raise click.BadParameter(f"{value} is neither an http(s) URL nor a file")
    return client.upload(value).url


def _print_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, default=str))


def _follow(client: Client, job: VideoJob) -> VideoJob:
    """Show a live progress bar fed by the job's server-sent events."""
    columns = (TextColumn("{task.description}"), BarColumn(), TextColumn("{task.percentage:>3.0f}%"),
               TextColumn("{task.fields[stage]}"), TimeElapsedColumn())
    with Progress(*columns, console=console) as bar:
        task = bar.add_task(f"{job.type.value} {job.id}", total=1.0, stage="queued")
        for update in client.events(job.id):
            bar.update(task, completed=update.progress, stage=update.stage or update.status.value)
            job = update
    return job


def _submit(ctx: click.Context, operation: str, wait: bool, *args: Any, **fields: Any) -> None:
    client = ctx.obj["client"]
    fields = {k: v for k, v in fields.items() if v not in (None, ())}
    job = getattr(client, operation)(*args, **fields)
    if wait:
        job = _follow(client, job)
        if job.error:
            console.print(f"[red]{job.status.value}[/red]: {job.error.code}: {job.error.message}")
            ctx.exit(1)
    _print_json(job.model_dump(mode="json"))


@click.group()
@click.option("--url", envvar="REELSERVE_URL", default="http://127.0.0.1:8000", show_default=True)
@click.option("--api-key", envvar="REELSERVE_API_KEY", default=None)
@click.pass_context
def cli(ctx: click.Context, url: str, api_key: str | None) -> None:
    """reelserve: video AI jobs from the command line."""
    ctx.ensure_object(dict)
    ctx.obj.update(url=url, api_key=api_key)
    if ctx.invoked_subcommand:
        ctx.obj["client"] = _client(ctx)


wait_option = click.option("--wait", is_flag=True, help="Follow the job with a progress bar.")
webhook_option = click.option("--webhook-url", default=None)
provider_option = click.option("--provider", default=None)


@cli.command()
@click.argument("video")
@click.option("--task", "tasks", multiple=True, default=["transcribe"], show_default=True,
              type=click.Choice(["transcribe", "scenes", "embed", "qa", "chapters"]))
@click.option("--question", default=None)
@provider_option
@webhook_option
@wait_option
@click.pass_context
def analyze(ctx, video, tasks, question, provider, webhook_url, wait):
    """Transcript, scenes, embeddings or answers for VIDEO (URL or file)."""
    _submit(ctx, "analyze", wait, _source(ctx.obj["client"], video), list(tasks),
            question=question, provider=provider, webhook_url=webhook_url)


@cli.command()
@click.argument("prompt")
@click.option("--negative-prompt", default=None)
@click.option("--duration-seconds", type=float, default=None)
@click.option("--width", type=int, default=None)
@click.option("--height", type=int, default=None)
@click.option("--fps", type=int, default=None)
@click.option("--seed", type=int, default=None, help="Render the same frames as an earlier job's seed.")
@click.option("--image", default=None, help="A first frame (URL or file): image-to-video.")
@provider_option
@webhook_option
@wait_option
@click.pass_context
def generate(ctx, prompt, image, wait, **fields):
    """Text (and optionally a first frame) -> video."""
    _submit(ctx, "generate", wait, prompt, image_url=_source(ctx.obj["client"], image), **fields)


@cli.command()
@click.argument("image")
@click.option("--audio", default=None, help="Speech to animate (URL or file).")
@click.option("--text", default=None, help="Text to speak instead of --audio.")
@click.option("--voice-id", default=None)
@click.option("--tts-provider", default=None)
@click.option("--target-language", default=None)
@provider_option
@webhook_option
@wait_option
@click.pass_context
def avatar(ctx, image, audio, wait, **fields):
    """Portrait IMAGE + speech -> talking-head video."""
    client = ctx.obj["client"]
    _submit(ctx, "avatar", wait, _source(client, image), audio_url=_source(client, audio), **fields)


def _face(ctx, param, value: str | None) -> dict | None:
    """--face X,Y or X,Y@FRAME: the face at pixel (X, Y) of source frame FRAME (default 0)."""
    if value is None:
        return None
    point, _, frame = value.partition("@")
    try:
        x, y = (float(v) for v in point.split(","))
        return {"x": x, "y": y, "frame": int(frame or 0)}
    except ValueError:
        raise click.BadParameter(f"{value!r} is not X,Y or X,Y@FRAME (pixels, frame number)") from None


@cli.command()
@click.argument("video")
@click.argument("audio")
@click.option("--sync-mode", type=click.Choice(get_args(SyncMode)), default=None,
              help="When audio and video lengths differ (server default: bounce).")
@click.option("--face", callback=_face, default=None, metavar="X,Y[@FRAME]",
              help="Re-render the face at pixel X,Y of source frame FRAME (default 0); "
                   "by default the face that speaks.")
@provider_option
@webhook_option
@wait_option
@click.pass_context
def lipsync(ctx, video, audio, wait, **fields):
    """VIDEO re-lipsynced to AUDIO."""
    client = ctx.obj["client"]
    _submit(ctx, "lipsync", wait, _source(client, video), _source(client, audio), **fields)


@cli.command()
@click.argument("video")
@click.option("--to", "target_language", required=True, help="BCP-47, e.g. pt-BR.")
@click.option("--from", "source_language", default=None)
@click.option("--voice-id", default=None)
@click.option("--tts-provider", default=None)
@click.option("--lipsync-provider", default=None)
@provider_option
@webhook_option
@wait_option
@click.pass_context
def dub(ctx, video, target_language, wait, **fields):
    """VIDEO spoken in another language, lips re-synced."""
    _submit(ctx, "dub", wait, _source(ctx.obj["client"], video), target_language, **fields)


@cli.command()
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.pass_context
def upload(ctx, path):
    """Upload a file; prints its signed URL."""
    _print_json(ctx.obj["client"].upload(path).model_dump(mode="json"))


@cli.command()
@click.pass_context
def providers(ctx):
    """Every engine per operation, and why it is unavailable."""
    table = Table("operation", "provider", "kind", "available", "reason")
    for p in ctx.obj["client"].providers().data:
        table.add_row(p.operation.value, p.name, p.kind, "yes" if p.available else "no",
                      p.reason or "")
    Console().print(table)


@cli.group()
def jobs():
    """List, show, follow and cancel jobs."""


@jobs.command("list")
@click.option("--status", default=None)
@click.option("--type", "job_type", default=None)
@click.option("--limit", type=int, default=20, show_default=True)
@click.option("--cursor", default=None)
@click.pass_context
def jobs_list(ctx, status, job_type, limit, cursor):
    page = ctx.obj["client"].list_jobs(status=status, type=job_type, limit=limit, cursor=cursor)
    table = Table("id", "type", "status", "progress", "provider", "created")
    for job in page.data:
        table.add_row(job.id, job.type.value, job.status.value, f"{job.progress:.0%}",
                      job.provider, job.created_at.isoformat(timespec="seconds"))
    Console().print(table)
    if page.next_cursor:
        console.print(f"next page: --cursor {page.next_cursor}")


@jobs.command("get")
@click.argument("job_id")
@click.pass_context
def jobs_get(ctx, job_id):
    _print_json(ctx.obj["client"].get_job(job_id).model_dump(mode="json"))


@jobs.command("wait")
@click.argument("job_id")
@click.pass_context
def jobs_wait(ctx, job_id):
    """Follow a job with a progress bar until it ends."""
    client = ctx.obj["client"]
    _print_json(_follow(client, client.get_job(job_id)).model_dump(mode="json"))


@jobs.command("cancel")
@click.argument("job_id")
@click.pass_context
def jobs_cancel(ctx, job_id):
    _print_json(ctx.obj["client"].cancel_job(job_id).model_dump(mode="json"))


def main() -> None:
    try:
        cli(standalone_mode=True)
    except ReelserveError as exc:
        console.print(f"[red]error[/red] {exc.code}: {exc.message}")
        raise SystemExit(2) from None
    except ValidationError as exc:
        console.print(f"[red]invalid request[/red]: {exc}")
        raise SystemExit(2) from None


if __name__ == "__main__":
    main()
