"""Event hubs: an event record and its schedule (deploy, pre-warm, cool down, reminders,
teardown), cluster capacity, and the organiser's controls. See docs/events.md."""
