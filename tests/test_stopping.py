import dataclasses

from seq2seq.config import TrainConfig
from seq2seq.training.saving import Progress
from seq2seq.training.stopping import stop_reason

TC = TrainConfig(max_steps=100, max_epochs=3, max_minutes=2.0, patience=4)


def test_goes_on_within_every_budget():
    assert stop_reason(TC, Progress(step=99, epoch=2, bad_validations=3), 119.9, False) is None


def test_each_budget_stops_at_its_bound():
    assert stop_reason(TC, Progress(step=100), 0.0, False) == "train.max_steps=100 reached"
    assert stop_reason(TC, Progress(epoch=3), 0.0, False) == "train.max_epochs=3 reached"
    assert stop_reason(TC, Progress(), 120.0, False) == "train.max_minutes=2 reached"
    assert stop_reason(TC, Progress(bad_validations=4), 0.0, False) == (
        "early stopping: no BLEU gain in 4 validations")


def test_a_bound_of_zero_never_stops():
    unbounded = dataclasses.replace(TC, max_steps=0, max_epochs=0, max_minutes=0.0, patience=0)
    late = Progress(step=10**6, epoch=10**3, bad_validations=10**3)
    assert stop_reason(unbounded, late, 10.0**7, False) is None


def test_the_first_reason_is_given_a_signal_before_all():
    spent = Progress(step=100, epoch=3, bad_validations=4)
    assert stop_reason(TC, spent, 120.0, True) == "signal"
    assert stop_reason(TC, spent, 120.0, False).startswith("early stopping")
    assert stop_reason(TC, Progress(step=100, epoch=3), 120.0, False).startswith(
        "train.max_steps")
