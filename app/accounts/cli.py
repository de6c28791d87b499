import click
from flask import Flask

from app.accounts.services import create_or_promote_admin


def register_cli(app: Flask) -> None:
    @app.cli.command("create-admin")
    @click.argument("username")
    @click.option("--password", help="Password (needed for a new user; replaces an existing one's).")
    def create_admin(username: str, password: str | None) -> None:
        """Create an admin, or promote an existing user to admin."""
        from app.accounts.schemas import CredentialsSchema, SignupSchema

        from marshmallow import ValidationError

        try:  # the same rules (and NFC normalisation) as the sign-up page
            if password:
                data = SignupSchema().load({"username": username, "password": password})
            else:  # promoting: only the name is checked
                data = CredentialsSchema().load({"username": username, "password": "x" * 8})
        except ValidationError as e:
            raise click.ClickException(str(e.messages))
        try:
            user, created = create_or_promote_admin(data["username"], password)
        except ValueError as e:
            raise click.ClickException(str(e))
        click.echo(f"{'created' if created else 'promoted'} admin {user.username} (id {user.id})")
