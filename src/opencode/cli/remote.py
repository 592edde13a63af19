"""``opencode remote ...``: name the S3-compatible buckets that ``opencode sync`` uses.

Nothing here touches the network or asks for a secret: credentials come from the standard
AWS chain (environment, ``~/.aws`` files, ``--profile``) when a sync runs.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from opencode.cli import render
from opencode.cli.console import printable, say
from opencode.cli.groups import Command, ReportingGroup
from opencode.cli.options import JsonFlag

app = typer.Typer(
    cls=ReportingGroup,
    help="Add, list and remove the S3-compatible remotes that 'opencode sync' uses.",
    no_args_is_help=True,
    add_completion=False,
)


@app.command("add", cls=Command)
def add(
    name: Annotated[str, typer.Argument(metavar="NAME", help="A name for the remote.")],
    url: Annotated[
        str, typer.Argument(metavar="s3://BUCKET[/PREFIX]", help="The bucket and key prefix.")
    ],
    endpoint_url: Annotated[
        str | None,
        typer.Option(
            "--endpoint-url",
            help="The S3 endpoint of another provider (R2, MinIO, ...); default: AWS.",
            show_default=False,
        ),
    ] = None,
    region: Annotated[
        str | None,
        typer.Option("--region", help="The bucket's region (default: AWS's).", show_default=False),
    ] = None,
    profile: Annotated[
        str | None,
        typer.Option(
            "--profile", help="The AWS profile whose credentials to use.", show_default=False
        ),
    ] = None,
) -> None:
    """Add a remote. Credentials are never stored: they come from the AWS environment."""
    from opencode.sync.remotes import RemoteStore, new_remote

    remote = new_remote(name, url, endpoint_url=endpoint_url, region=region, profile=profile)
    RemoteStore().add(remote)
    where = f" at {remote.endpoint_url}" if remote.endpoint_url else ""
    say(f"Added remote {remote.name}: {remote.url}{where}")


@app.command("list", cls=Command)
def list_remotes(json_output: JsonFlag = False) -> None:
    """List the remotes."""
    from opencode.sync.remotes import RemoteStore

    remotes = RemoteStore().remotes()
    if json_output:
        sys.stdout.write(render.dumps_json([r.to_dict() for r in remotes]) + "\n")
        return
    if not remotes:
        say("No remotes yet; add one with 'opencode remote add NAME s3://BUCKET[/PREFIX]'")
        return
    rows = [("NAME", "URL", "ENDPOINT", "REGION", "PROFILE")] + [
        (r.name, r.url, r.endpoint_url or "(AWS)", r.region or "-", r.profile or "-")
        for r in remotes
    ]
    widths = [max(len(row[col]) for row in rows) for col in range(len(rows[0]) - 1)]
    for row in rows:
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
        typer.echo(printable("  ".join([*cells, row[-1]])))


@app.command("remove", cls=Command)
def remove(
    name: Annotated[str, typer.Argument(metavar="NAME", help="The remote to remove.")],
) -> None:
    """Remove a remote (and what this machine remembers of it); the bucket is left as it is."""
    from opencode import paths
    from opencode.sync.remotes import RemoteStore
    from opencode.sync.state import forget_remote, sync_dir_of

    removed = RemoteStore().remove(name)
    forget_remote(sync_dir_of(paths.data_dir()), removed.name)
    say(f"Removed remote {removed.name} ({removed.url}); the bucket was not changed")
