"""``registry token ACTOR`` and ``registry keypair``: the registry's access and its signing key."""

from __future__ import annotations

from typing import Annotated

import typer
from millrace_shared.registry.tokens import TokenError, check_actor, hash_token, new_token
from millrace_shared.signing import SigningKey

from ..console import out
from ..errors import CliError, ExitCode

app = typer.Typer(
    help="The registry's access: a person's token, the promotion-signing key pair.",
    no_args_is_help=True,
)


@app.command()
def token(
    actor: Annotated[
        str, typer.Argument(metavar="ACTOR", help="Who, as the audit trail will name them.")
    ],
) -> None:
    """Make ACTOR a new registry token: printed once here, never stored by Millrace.

    Give the token to ACTOR (their MILLRACE_REGISTRY_TOKEN); add the hash to the registry's
    MILLRACE_REGISTRY_TOKENS (JSON) or MILLRACE_REGISTRY_TOKENS_FILE (the line) and restart it.
    """
    try:
        check_actor(actor)
    except TokenError as error:
        raise CliError(str(error), ExitCode.USAGE) from error
    made = new_token()
    digest = hash_token(made)
    # Plain prints (no markup, no wrapping): these lines are meant to be copied exactly.
    out.print(f"token for {actor} (shown once; their MILLRACE_REGISTRY_TOKEN):", markup=False)
    out.print(f"  {made}", markup=False, soft_wrap=True)
    out.print("MILLRACE_REGISTRY_TOKENS entry (JSON):", markup=False)
    out.print(f'  {{"{actor}": "{digest}"}}', markup=False, soft_wrap=True)
    out.print("MILLRACE_REGISTRY_TOKENS_FILE line:", markup=False)
    out.print(f"  {actor} {digest}", markup=False, soft_wrap=True)


@app.command()
def keypair() -> None:
    """Make the Ed25519 key pair the registry signs promotions with (ADR 0007).

    The private key goes to every registry replica only (MILLRACE_REGISTRY_SIGNING_KEY), the
    public key to every deployment replica (MILLRACE_DEPLOYMENT_REGISTRY_PUBLIC_KEY). The
    local stack makes its own per home; this is for any other installation.
    """
    key = SigningKey.generate()
    out.print("MILLRACE_REGISTRY_SIGNING_KEY (secret; the registry only):", markup=False)
    out.print(f"  {key.to_base64()}", markup=False, soft_wrap=True)
    out.print("MILLRACE_DEPLOYMENT_REGISTRY_PUBLIC_KEY (deployment):", markup=False)
    out.print(f"  {key.public.to_base64()}", markup=False, soft_wrap=True)
