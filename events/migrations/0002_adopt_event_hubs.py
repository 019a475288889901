"""Event hubs approved before events had schedules get their event record and steps.

Their hub was deployed at approval, so the deploy step is done; the other
steps are planned with the default policy and caught up (or skipped with a
reason) by the next tick.
"""

import datetime as dt

from django.db import migrations

LIVE = ("provisioning", "active", "updating", "failed")


def adopt(apps, schema_editor):
    Hub = apps.get_model("hubs", "Hub")
    Event = apps.get_model("events", "Event")
    EventStep = apps.get_model("events", "EventStep")
    hubs = Hub.objects.filter(
        event_start__isnull=False, state__in=LIVE, request__isnull=False, offering__isnull=False
    ).select_related("request")
    for hub in hubs:
        if (
            Event.objects.filter(hub=hub).exists()
            or Event.objects.filter(request=hub.request).exists()
        ):
            continue
        spec_event = hub.spec.get("event") or {}
        event = Event.objects.create(
            request=hub.request,
            hub=hub,
            organiser_id=hub.request.requester_id,
            cluster_id=hub.cluster_id,
            offering_id=hub.offering_id,
            name=hub.name,
            display_name=hub.display_name or hub.name,
            start=hub.event_start,
            end=hub.event_end,
            timezone=spec_event.get("timezone") or "UTC",
            attendees=int(hub.spec.get("expected_users") or 1),
        )
        teardown = event.end + dt.timedelta(hours=48)
        planned = {
            "deploy": event.start - dt.timedelta(days=2),
            "reminder_week": event.start - dt.timedelta(days=7),
            "reminder_day": event.start - dt.timedelta(hours=24),
            "prewarm": event.start - dt.timedelta(hours=2),
            "cooldown": event.end,
            "teardown_notice": max(event.end, teardown - dt.timedelta(hours=24)),
            "teardown": teardown,
        }
        for kind, when in planned.items():
            EventStep.objects.create(
                event=event,
                kind=kind,
                planned_at=when,
                state="done" if kind == "deploy" else "pending",
                note="deployed at approval, before events had schedules"
                if kind == "deploy"
                else "",
            )


class Migration(migrations.Migration):
    dependencies = [("events", "0001_initial"), ("hubs", "0003_change_requests")]

    operations = [migrations.RunPython(adopt, migrations.RunPython.noop)]
