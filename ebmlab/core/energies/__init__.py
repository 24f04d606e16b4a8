"""Energy models. See base.Energy for the contract."""
