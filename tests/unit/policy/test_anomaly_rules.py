"""The policy's anomaly rules: defaults that make sense unconfigured, and every knob checked."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from dataward.policy import Policy
from dataward.policy.edge import AnomalyRules, Webhook


def test_the_defaults_make_sense_without_configuration(policy: Policy) -> None:
    rules = policy.anomaly
    assert rules == AnomalyRules()
    assert rules.enabled
    assert rules.alert_at <= rules.throttle_at <= rules.suspend_at
    # a quiet client is cut off before 100 subjects, a new one is given room to be learnt
    assert rules.min_subjects_per_hour * rules.suspend_at < 100
    assert rules.learning_subjects_per_hour > 10 * rules.min_subjects_per_hour
    assert rules.webhook is None


def test_every_knob_can_be_set_from_the_policy_file() -> None:
    rules = AnomalyRules.model_validate(
        {
            "learning_days": 14,
            "min_subjects_per_hour": 10,
            "throttle_to": "10 per 5 minutes",
            "webhook": {"url": "https://soc.example.com/hooks", "secret_env": "ANOMALY_WEBHOOK_SECRET"},
        }
    )
    assert rules.learning_days == 14 and rules.throttle_to == "10 per 5 minutes"
    assert rules.webhook == Webhook(url="https://soc.example.com/hooks", secret_env="ANOMALY_WEBHOOK_SECRET")


@pytest.mark.parametrize(
    ("values", "message"),
    [
        pytest.param({"throttle_to": "fast"}, "not a rate", id="rate"),
        pytest.param({"alert_at": 2.0, "throttle_at": 1.5}, "escalate", id="order"),
        pytest.param({"suspend_at": 1.2}, "escalate", id="suspend below throttle"),
        pytest.param({"failures_alert_per_minute": 90}, "must not exceed", id="failures"),
        pytest.param({"learning_days": 0}, "greater than or equal", id="learning"),
        pytest.param({"speed": 1}, "Extra inputs", id="unknown knob"),
        pytest.param(
            {"webhook": {"url": "http://soc.example.com/hooks", "secret_env": "X"}},
            "https",
            id="clear webhook",
        ),
        pytest.param(
            {"webhook": {"url": "https://soc.example.com/hooks", "secret_env": "not-a-name"}},
            "String should match",
            id="secret variable",
        ),
    ],
)
def test_a_wrong_knob_is_refused(values: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        AnomalyRules.model_validate(values)


def test_a_webhook_to_this_machine_may_be_plain_http() -> None:
    assert Webhook(url="http://127.0.0.1:8080/hooks", secret_env="HOOK_SECRET").url.startswith("http://")
