from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("dust", "0005_messages_on_fields"),
    ]

    operations = [
        migrations.AddField(
            model_name="dustlimit",
            name="confirmed",
            field=models.BooleanField(
                default=False,
                help_text="限值已按标准正式文本核对；未核实的限值在每个显示它的页面标注“待核实”",
                verbose_name="限值已核实",
            ),
        ),
    ]
