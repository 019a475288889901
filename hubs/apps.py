from __future__ import annotations

from django.apps import AppConfig


class HubsConfig(AppConfig):
    name = "hubs"
    verbose_name = "Hubs and requests"

    def ready(self) -> None:
        # Someone's linked sign-ins decide which hubs they administer (hubs/admins.py).
        from allauth.account import signals as account
        from allauth.socialaccount import signals as social
        from django.contrib.auth.signals import user_logged_in

        from hubs import admins

        for signal in (
            user_logged_in,
            account.email_confirmed,
            account.email_removed,
            account.email_changed,
            social.social_account_added,
            social.social_account_updated,
            social.social_account_removed,
        ):
            signal.connect(admins.on_identity_change, dispatch_uid=f"hub-admins-{id(signal)}")
