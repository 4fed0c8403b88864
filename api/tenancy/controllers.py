"""``/v1/tenant/settings``: every user of the tenant reads them, admins change them."""

from __future__ import annotations

from litestar import Controller, get, patch
from litestar.di import NamedDependency, Provide
from litestar.params import JSONBody
from sqlalchemy.ext.asyncio import AsyncSession

from api.accounts.guards import provide_principal, requires_admin
from api.accounts.principal import Principal
from api.db.session import provide_db_session, provide_write_session
from api.tenancy.policy import TenantSettings, TenantSettingsUpdate
from api.tenancy.service import TenantSettingsService


class TenantSettingsController(Controller):
    path = "/v1/tenant/settings"
    tags = ["tenant"]
    dependencies = {"principal": Provide(provide_principal)}

    @get("", operation_id="GetTenantSettings", dependencies={"session": Provide(provide_db_session)})
    async def read(
        self, session: NamedDependency[AsyncSession], principal: NamedDependency[Principal]
    ) -> TenantSettings:
        return await TenantSettingsService(session, principal.tenant_id).get()

    @patch(
        "",
        operation_id="UpdateTenantSettings",
        guards=[requires_admin],
        dependencies={"session": Provide(provide_write_session)},
    )
    async def update(
        self,
        session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        data: JSONBody[TenantSettingsUpdate],
    ) -> TenantSettings:
        return await TenantSettingsService(session, principal.tenant_id).update(data)
