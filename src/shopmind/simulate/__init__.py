"""A synthetic shop with planted ground truth (``shopmind simulate``).

Users with latent tastes and price sensitivity in planted segments browse a bilingual
catalogue in sessions (view -> cart -> purchase, time-of-day and weekly seasonality); some
churn; a randomised e-mail campaign has a planted uplift; fraud rings share devices; orders
lead to customer-service tickets. The truth (segments, uplift, fraud labels) is saved so
that models can be checked against it.
"""

from shopmind.simulate.shop import SimulatedShop, SimulationConfig, simulate_shop
from shopmind.simulate.write import write_shop

__all__ = ["SimulatedShop", "SimulationConfig", "simulate_shop", "write_shop"]
