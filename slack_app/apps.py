"""App configuration for the Slack app: /oncall, the buttons, user groups and posts.

Named slack_app, not slack: slack-sdk installs a deprecated top-level package named ``slack``,
and a folder of that name would shadow it or be shadowed by it depending on sys.path.
"""

from django.apps import AppConfig


class SlackConfig(AppConfig):
    name = "slack_app"
    verbose_name = "Slack"
