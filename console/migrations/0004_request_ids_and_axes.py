# Log-in throttling moved to django-axes (its own tables), and the audit keeps a trusted proxy's
# X-Request-ID next to the console's own request id (console.middleware.RequestIdMiddleware).

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('console', '0003_condition_timeline'),
    ]

    operations = [
        migrations.DeleteModel(
            name='LoginFailure',
        ),
        migrations.AddField(
            model_name='auditentry',
            name='proxy_request_id',
            field=models.CharField(blank=True, help_text='The X-Request-ID a trusted proxy gave the request (console.middleware).', max_length=64),
        ),
        migrations.AlterField(
            model_name='auditentry',
            name='request_id',
            field=models.CharField(blank=True, help_text="The console's own id of the request.", max_length=64),
        ),
    ]
