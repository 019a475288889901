"""Demo accounts for `make run`: an operator, a reviewer and a community lead."""

from __future__ import annotations

import secrets
from typing import Any

from allauth.account.models import EmailAddress
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError

from hubs.permissions import REVIEWERS_GROUP

ACCOUNTS = [
    ("operator", "Operator", {"is_superuser": True, "is_staff": True}),
    ("reviewer", "Reviewer", {"is_staff": True}),
    ("lead", "Community lead", {}),
]


class Command(BaseCommand):
    help = "Create (or reset) the demo accounts and print their credentials. Demo mode only."

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DEMO:
            raise CommandError("Demo accounts are only for demo mode (PORTAL_DEMO=1).")
        path = settings.VAR_DIR / "demo_password"
        if not path.exists():
            path.write_text(secrets.token_urlsafe(9))
            path.chmod(0o600)
        password = path.read_text().strip()
        reviewers, _ = Group.objects.get_or_create(name=REVIEWERS_GROUP)
        User = get_user_model()
        self.stdout.write("Demo accounts (password in var/demo_password):")
        for username, title, flags in ACCOUNTS:
            email = f"{username}@example.org"
            user, _ = User.objects.get_or_create(username=username, defaults={"email": email})
            for key, value in flags.items():
                setattr(user, key, value)
            user.first_name = title
            user.email = email
            user.set_password(password)
            user.save()
            if username == "reviewer":
                user.groups.add(reviewers)
            EmailAddress.objects.update_or_create(
                user=user, email=email, defaults={"verified": True, "primary": True}
            )
            self.stdout.write(f"  {title:<16} {username:<10} {password}")
