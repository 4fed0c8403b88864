"""Imports every models module so ``Base.metadata`` knows the whole schema (Alembic, tests)."""

from __future__ import annotations

from api.accounts import models as accounts_models
from api.customers import models as customers_models
from api.db.base import Base
from api.expenses import models as expenses_models
from api.jobs import models as jobs_models
from api.photos import models as photos_models
from api.reference import models as reference_models
from api.routes import models as routes_models
from api.tenancy import models as tenancy_models
from api.visits import models as visits_models
from geo import models as geo_models
from media import models as media_models
from sync import models as sync_models

metadata = Base.metadata

__all__ = [
    "accounts_models",
    "customers_models",
    "expenses_models",
    "geo_models",
    "jobs_models",
    "media_models",
    "metadata",
    "photos_models",
    "reference_models",
    "routes_models",
    "sync_models",
    "tenancy_models",
    "visits_models",
]
