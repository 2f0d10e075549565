"""Router artifact versions in the gateway: training from records, serving pointers."""
