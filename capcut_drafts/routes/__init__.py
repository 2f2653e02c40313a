"""The routes: one module per route family (request model + handler), the route registry and the
dispatcher that runs a route from a decoded body to the reply envelope. No Flask."""
