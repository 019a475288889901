"""Drop DRF's plain-text tokens (rest_framework.authtoken, no longer installed).

Their keys were stored readable; they cannot be turned into hashed tokens
without keeping them, so they are deleted and their users make new ones on
the profile page (README.md, "API tokens"). Safe to run where the table
never existed.
"""

from typing import Any

from django.db import migrations

TABLE = "authtoken_token"


def drop_plain_tokens(apps: Any, schema_editor: Any) -> None:
    connection = schema_editor.connection
    if TABLE in connection.introspection.table_names():
        # Django's own DROP TABLE template, with the name quoted by the backend.
        schema_editor.execute(
            schema_editor.sql_delete_table % {"table": schema_editor.quote_name(TABLE)}
        )
    content_types = apps.get_model("contenttypes", "ContentType")
    content_types.objects.filter(app_label="authtoken").delete()  # and their permissions
    from django.db.migrations.recorder import MigrationRecorder

    MigrationRecorder(connection).migration_qs.filter(app="authtoken").delete()


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0001_initial"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]

    operations = [migrations.RunPython(drop_plain_tokens, migrations.RunPython.noop)]
