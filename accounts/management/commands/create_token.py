"""Print a new API token for a user (the key is shown this once; only its hash is kept)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from accounts import tokens


class Command(BaseCommand):
    help = (
        "Create an API token for USERNAME and print its key (send it as "
        "`Authorization: Token <key>`). The key cannot be shown again: store it now. "
        "--rotate revokes the user's active tokens of the same name first."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--name", default="command line", help="The token's name.")
        parser.add_argument(
            "--rotate",
            action="store_true",
            help="Revoke the user's active tokens with this name; scripts using them stop working.",
        )
        parser.add_argument(
            "--expires-in", type=int, metavar="DAYS", help="Expire after DAYS days (default never)."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        User = get_user_model()
        try:
            user = User.objects.get(**{User.USERNAME_FIELD: options["username"]})
        except User.DoesNotExist:
            raise CommandError(f"There is no user {options['username']!r}.") from None
        if not user.is_active:
            raise CommandError(f"{options['username']!r} is inactive; activate them first.")
        days = options["expires_in"]
        if days is not None and days < 1:
            raise CommandError("--expires-in takes a number of days, at least 1.")
        expires_at = timezone.now() + dt.timedelta(days=days) if days else None
        make = tokens.rotate if options["rotate"] else tokens.create_token
        try:
            _, key = make(user, options["name"], expires_at=expires_at)
        except tokens.TokenError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(key)
