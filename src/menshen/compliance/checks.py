"""The measurements menshen can take on the live system: the contract between the control
catalogs (which name these ids) and the evidence collectors (which measure them).

Each id is stable: catalogs, stored evidence and past reports refer to it. ``risk`` and
``effort`` (1 low .. 5 high) rank a failing check's next step in the gap list.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

from menshen.compliance.model import Bilingual, CheckSpec

__all__ = ["CHECKS", "check"]

Unit = Literal["share", "count", "seconds", "bool"]


def _spec(id_: str, unit: Unit, risk: int, effort: int, en: str, zh: str) -> CheckSpec:
    return CheckSpec(id=id_, title=Bilingual(en, zh), unit=unit, risk=risk, effort=effort)


_ALL = (
    # -- identity ------------------------------------------------------------------------
    _spec(
        "identity.mfa_enrolled",
        "share",
        5,
        2,
        "Active users with a second factor (TOTP, passkey or SSO with MFA)",
        "已啟用第二因子（TOTP、通行金鑰或具多因子的單一登入）的在職使用者比例",
    ),
    _spec(
        "identity.phishing_resistant_mfa",
        "share",
        4,
        3,
        "Active users with phishing-resistant MFA (a WebAuthn passkey)",
        "具抗網路釣魚多因子（WebAuthn 通行金鑰）的在職使用者比例",
    ),
    _spec(
        "identity.mfa_required_restricted_apps",
        "share",
        5,
        1,
        "Apps holding restricted or confidential data whose every allow rule demands MFA",
        "存放機敏或機密資料的應用程式中，所有允許規則皆要求多因子驗證的比例",
    ),
    _spec(
        "identity.phishing_resistant_admin",
        "share",
        5,
        2,
        "Administrative apps whose allow rules demand a passkey (WebAuthn)",
        "管理類應用程式中，允許規則要求通行金鑰（WebAuthn）的比例",
    ),
    _spec(
        "identity.admin_actions_with_mfa",
        "count",
        4,
        1,
        "Administrative actions in the period taken without MFA",
        "期間內未經多因子驗證所執行的管理操作次數",
    ),
    _spec(
        "identity.stale_accounts",
        "count",
        3,
        1,
        "Enabled accounts with no sign-in for longer than the stale limit",
        "超過閒置期限未登入但仍啟用的帳號數",
    ),
    _spec(
        "identity.lockout_policy",
        "bool",
        3,
        1,
        "Failed sign-ins lock the account (at most 5 attempts, at least 15 minutes)",
        "登入失敗達上限即鎖定帳號（最多 5 次、至少 15 分鐘）",
    ),
    _spec(
        "identity.lockout_duration_pci",
        "bool",
        3,
        1,
        "Failed sign-ins lock the account for at least 30 minutes within 10 attempts",
        "10 次登入失敗內即鎖定帳號至少 30 分鐘",
    ),
    _spec(
        "identity.password_policy",
        "bool",
        3,
        1,
        "Passwords: at least 12 characters, Argon2id hashes, none stored in plain text",
        "密碼至少 12 字元、以 Argon2id 雜湊保存、不以明文儲存",
    ),
    _spec(
        "identity.central_idp",
        "bool",
        2,
        3,
        "Sign-in federated from the firm's identity provider and re-checked during sessions",
        "由公司身分提供者聯合登入，並於連線期間持續重新確認",
    ),
    _spec(
        "identity.session_reauthentication",
        "share",
        3,
        1,
        "Restricted-data apps that re-authenticate after 15 minutes idle or demand fresh MFA",
        "機敏資料應用程式中，閒置 15 分鐘後須重新驗證或要求近期多因子的比例",
    ),
    # -- devices -------------------------------------------------------------------------
    _spec(
        "device.managed_required_restricted_apps",
        "share",
        4,
        2,
        "Restricted-data apps whose allow rules demand a managed (enrolled, healthy) device",
        "機敏資料應用程式中，允許規則要求受管理（已註冊且健康）設備的比例",
    ),
    _spec(
        "device.enrolled_and_healthy",
        "share",
        3,
        3,
        "Enrolled devices that are approved and reported healthy within the report limit",
        "已註冊設備中，已核准且於期限內回報健康狀態的比例",
    ),
    _spec(
        "device.posture_rules",
        "bool",
        2,
        1,
        "Device posture rules demand disk encryption and a screen lock",
        "設備狀態規則要求磁碟加密與螢幕鎖定",
    ),
    # -- network -------------------------------------------------------------------------
    _spec(
        "network.default_deny",
        "bool",
        5,
        3,
        "Segmentation policy is default-deny and enforced",
        "網路分段政策為預設拒絕且已強制執行",
    ),
    _spec(
        "network.segmentation_drift",
        "count",
        4,
        2,
        "Observed flows the segmentation policy does not allow (drift)",
        "觀察到但分段政策未允許的連線（偏離）數",
    ),
    _spec(
        "network.contractor_reach_restricted",
        "count",
        5,
        2,
        "Restricted data stores a contractor or vendor device can reach",
        "外包或廠商設備可觸及的機敏資料儲存數",
    ),
    _spec(
        "network.exceptions_owned_and_expiring",
        "share",
        2,
        1,
        "Segmentation exceptions that have an owner and an expiry date",
        "具負責人與到期日的網路分段例外比例",
    ),
    _spec(
        "network.encrypted_transport",
        "bool",
        4,
        2,
        "Every gateway listener serves TLS",
        "所有閘道監聽埠皆使用 TLS 加密",
    ),
    # -- applications --------------------------------------------------------------------
    _spec(
        "app.policy_coverage",
        "share",
        5,
        1,
        "Apps behind the gateway that have a policy (no app open by default)",
        "閘道後方已設定存取政策的應用程式比例（無預設開放）",
    ),
    _spec(
        "app.least_privilege",
        "count",
        4,
        1,
        "Restricted-data apps allowed to any signed-in person",
        "允許任何已登入者存取的機敏資料應用程式數",
    ),
    _spec(
        "app.dynamic_conditions",
        "share",
        3,
        2,
        "Restricted-data apps whose rules use per-request attributes (device, time, place)",
        "機敏資料應用程式中，規則使用每次請求屬性（設備、時間、地點）的比例",
    ),
    _spec(
        "app.risk_aware_policy",
        "share",
        3,
        2,
        "Restricted-data apps whose rules refuse or step up on high risk",
        "機敏資料應用程式中，規則於高風險時拒絕或要求加強驗證的比例",
    ),
    _spec(
        "app.policy_tested",
        "bool",
        2,
        2,
        "The active policy has tests and they pass",
        "目前政策具備測試且測試通過",
    ),
    # -- data ----------------------------------------------------------------------------
    _spec(
        "data.inventory_classified",
        "share",
        3,
        2,
        "Data stores in the inventory with a sensitivity classification",
        "資產清冊中已標示敏感等級的資料儲存比例",
    ),
    _spec(
        "data.flows_declared",
        "share",
        2,
        2,
        "Observed flows to restricted data stores that are declared in the inventory",
        "觀察到連往機敏資料儲存的連線中，已於清冊申報的比例",
    ),
    # -- visibility, automation ----------------------------------------------------------
    _spec(
        "visibility.audit_chain_verified",
        "bool",
        5,
        1,
        "The audit log's hash chain verifies end to end",
        "稽核日誌雜湊鏈完整驗證通過",
    ),
    _spec(
        "visibility.access_logged",
        "bool",
        4,
        1,
        "Every access decision in the period is in the audit log",
        "期間內每一次存取決策皆記錄於稽核日誌",
    ),
    _spec(
        "visibility.monitoring_active",
        "bool",
        4,
        2,
        "Behavioural monitoring is running with detectors and risk scoring",
        "行為監控已運作，具偵測器與風險評分",
    ),
    _spec(
        "automation.response_playbooks",
        "bool",
        3,
        2,
        "Response playbooks act automatically (not observe-only) and notify a human",
        "回應劇本可自動執行（非僅觀察）並通知人員",
    ),
    _spec(
        "automation.time_to_detect",
        "seconds",
        3,
        3,
        "Median time to detect last month's incidents, against the firm's target",
        "上月事件的偵測時間中位數（對照公司目標）",
    ),
    _spec(
        "automation.time_to_respond",
        "seconds",
        4,
        3,
        "Median time to respond to last month's incidents, against the firm's target",
        "上月事件的回應時間中位數（對照公司目標）",
    ),
    # -- machine identities and vendors ---------------------------------------------------
    _spec(
        "machine.credentials_expiring",
        "count",
        3,
        2,
        "Machine-client credentials with no expiry, expired, or older than the rotation limit",
        "未設到期、已過期或超過輪替期限的機器用戶端憑證數",
    ),
    _spec(
        "vendor.remote_access_controlled",
        "share",
        5,
        2,
        "Apps open to contractors or vendors that demand MFA, a managed device and are logged",
        "開放外包或廠商存取的應用程式中，要求多因子、受管理設備並留有紀錄的比例",
    ),
    _spec(
        "vendor.external_users_scoped",
        "share",
        4,
        2,
        "Users from other institutions limited to named apps (no open-to-all rules)",
        "他機構使用者僅能存取指定應用程式（無全開放規則）的比例",
    ),
)

CHECKS: Mapping[str, CheckSpec] = {spec.id: spec for spec in _ALL}


def check(check_id: str) -> CheckSpec:
    """The spec of ``check_id``; ``KeyError`` names it when unknown."""
    try:
        return CHECKS[check_id]
    except KeyError:
        raise KeyError(f"unknown check {check_id!r}") from None
