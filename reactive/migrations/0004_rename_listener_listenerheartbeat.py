"""`Listener` is `ListenerHeartbeat`, so that `Listener` names only the sync engine
(`reactive.sync.listener.Listener`); the table keeps its name, `reactive_listener`."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("reactive", "0003_capture_truncate"),
    ]

    operations = [
        migrations.RenameModel(old_name="Listener", new_name="ListenerHeartbeat"),
    ]
