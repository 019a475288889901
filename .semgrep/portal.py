# Examples for `semgrep --test .semgrep/`: each `ruleid:` line must be found, each `ok:` not.
import os
import subprocess

import jinja2
import yaml
from django.utils.safestring import mark_safe

from portal.text import markdown_text, one_line

# ruleid: portal-autoescape-off
jinja2.Environment(loader=None, autoescape=False)
# ok: portal-autoescape-off
jinja2.Environment(loader=None, autoescape=True)

# ruleid: portal-mark-safe
mark_safe("<b>" + name + "</b>")

# ruleid: portal-raw-sql
Hub.objects.raw("SELECT * FROM hubs_hub")
# ruleid: portal-raw-sql
cursor.execute(f"SELECT * FROM hubs_hub WHERE name = '{name}'")
# ok: portal-raw-sql
cursor.execute("SELECT * FROM hubs_hub WHERE name = %s", [name])

# ruleid: portal-yaml-load
yaml.load(text)
# ruleid: portal-yaml-load
yaml.load(text, Loader=yaml.Loader)
# ok: portal-yaml-load
yaml.load(text, Loader=yaml.CSafeLoader)
# ok: portal-yaml-load
yaml.safe_load(text)

# ruleid: portal-subprocess-shell
subprocess.run(f"git log {ref}", shell=True)
# ruleid: portal-subprocess-shell
os.system("helm list")
# ok: portal-subprocess-shell
subprocess.run(["git", "log", ref], check=True)

# ruleid: portal-user-text-in-commit
message = f"Update hub {hub.name}\n\n{hub.display_name}: {revision.reason}\n"
# ok: portal-user-text-in-commit
message = one_line(f"{hub.display_name}: {revision.reason}", 300)
# ok: portal-user-text-in-commit
body = markdown_text(f"{request.notes}")
