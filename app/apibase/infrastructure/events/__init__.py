"""Events leaving and entering the service: the outbox and its relay, the inbox, and the broker transports."""
