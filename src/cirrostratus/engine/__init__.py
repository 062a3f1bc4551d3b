"""The engine: the one place that knows every part — process rules, execution, update rules,
chaining, notifications — and runs them once (`cirro run`) or as a service (`cirro serve`)."""
