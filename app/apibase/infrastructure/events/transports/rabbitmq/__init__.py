"""RabbitMQ as the events broker (``APIBASE_EVENTS__PUBLISHER=rabbitmq``), with ``aio-pika`` (the ``rabbitmq`` extra).

The modules here import ``aio_pika``; ``build_transport`` imports ``transport`` only when this publisher is chosen,
so the service starts without the extra. ``topology`` names the exchanges and queues, ``codec`` is the wire form
(CloudEvents RabbitMQ binding), ``sink`` publishes with confirms, ``consumer`` hands deliveries to the dispatcher.
"""
