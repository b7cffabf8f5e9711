"""Chinese labels for every code the console shows (GET /labels, staff only).

The console fetches this once after login, so agents never see slot keys, codes or usernames,
and a label changes in one place. Categories, severities, departments and ticket statuses come
from the API's own tables (taxonomy, workflow, deadlines); the tables below name what only the
bot, the channels and the console use, and tests/test_labels.py checks they cover every code the
schemas accept.
"""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, Field
from sqlalchemy import select

from app.api.deps import SessionDep, Staff
from app.models import User
from app.services import deadlines, workflow
from app.services.taxonomy import CATEGORY_DEPARTMENT, CATEGORY_LABELS, SENDER_LABELS, SEVERITY_RULES

router = APIRouter(tags=["console"])

STAGES = {"pre_trip": "出行前", "in_trip": "行程中", "post_trip": "行程结束后"}
HANDOFF_STATUSES = {"waiting": "等待接入", "active": "服务中", "closed": "已结束", "returned": "已交还机器人"}
HANDOFF_REASONS = {
    "request_human": "旅客要求人工",
    "urgent_complaint": "紧急投诉",
    "fallback": "机器人两次未理解",
    "form_failures": "多次填写失败",
    "emergency": "紧急求助（人身安全）",
    "cancellation_request": "申请取消行程",
}
CHANNELS = {
    "socketio": "网站聊天窗口",
    "rest": "网页接口（旅客刷新后才能看到回复）",
    "wechat": "微信公众号",
    "console": "客服工作台",
    "phone": "电话",
}
SENDERS = SENDER_LABELS
REQUESTS = {
    "refund": "退款",
    "compensation": "赔偿",
    "apology": "道歉",
    "fix": "整改/解决问题",
    "other": "其他",
}
# What the bot collected (its slots, plus what actions/handoff.py adds), in the order shown.
FIELDS = {
    "booking_ref": "订单号",
    "verified_booking": "已核验订单",
    "phone_last4": "手机尾号",
    "phone": "手机号",
    "complainant_name": "姓名",
    "ticket_no": "投诉单号",
    "verified_ticket": "已核验投诉单",
    "complaint_description": "情况描述",
    "complaint_when_where": "时间地点",
    "complaint_request": "诉求",
    "complaint_request_text": "诉求（旅客原话）",
    "request_detail": "诉求（旅客原话）",
    "complaint_evidence": "证据材料",
    "complaint_consent": "同意记录个人信息",
    "itinerary_item": "查询内容",
    "day_number": "第几天",
    "cancellation": "取消申请",
    "verify_locked": "核验已锁定（多次输错）",
    "form_failures": "填写失败次数",
    "last_message": "最后一句话",
}
# Bookkeeping of the bot: never shown to agents (verify_grant is a credential).
HIDDEN_FIELDS = [
    "verify_grant",
    "read_message_id",
    "answered_message_id",
    "requested_slot",
    "complaint_confirming",
    "cancel_pending",
    "verify_purpose",
    "verify_blocked",
    "refund_after_verify",
    "session_started_metadata",
]
ITINERARY_ITEMS = {
    "return_flight": "回程航班",
    "outbound_flight": "去程航班",
    "meeting": "集合时间地点",
    "hotel": "住宿酒店",
    "flight": "航班",
    "guide": "导游联系方式",
    "included": "费用包含项目",
}
# Buttons send an intent; a button the traveller pressed is shown by what it meant.
INTENTS = {
    "affirm": "确认/同意",
    "deny": "否/不同意",
    "cancel": "取消",
    "request_human": "转人工",
    "greet": "问候",
    "goodbye": "再见",
    "thank": "感谢",
    "inform": "选择",
    "correct": "修改",
    "complain": "投诉",
    "check_ticket": "查询投诉进度",
    "query_itinerary": "查询行程",
    "request_cancellation": "申请取消行程",
}
DEADLINES = deadlines.DEADLINE_LABELS  # the ticket views and the alerts read the same table
DEADLINE_STATES = {"met": "已按时完成", "due": "进行中", "breached": "已超时"}
COMPENSATION_STATUSES = {
    "recorded": "已登记",
    "verified": "已核实",
    "planned": "已拟定方案",
    "agreed": "旅客已同意",
    "paid": "已支付",
}
COMPENSATION_METHODS = {"cash": "现金", "in_kind": "实物", "service": "服务补偿", "other": "其他"}
LOSS_TYPES = {"personal_injury": "人身伤害", "property": "财产损失", "other": "其他"}
ROLES = {"agent": "客服", "supervisor": "主管"}
SERVICE_ACTOR, SERVICE_NAME = "service", "客服机器人"  # the service token's actor (app/api/deps.py)


class Labels(BaseModel):
    categories: dict[str, str]
    severities: dict[str, str]
    departments: dict[str, str]
    stages: dict[str, str]
    ticket_statuses: dict[str, str]
    handoff_statuses: dict[str, str]
    handoff_reasons: dict[str, str]
    channels: dict[str, str]
    senders: dict[str, str]
    requests: dict[str, str]
    fields: dict[str, str] = Field(description="summary keys (the bot's slots), in display order")
    hidden_fields: list[str] = Field(description="summary keys that are the bot's bookkeeping: not shown")
    itinerary_items: dict[str, str]
    intents: dict[str, str] = Field(description="what a button the traveller pressed meant")
    deadlines: dict[str, str]
    deadline_states: dict[str, str]
    compensation_statuses: dict[str, str]
    compensation_methods: dict[str, str]
    loss_types: dict[str, str]
    roles: dict[str, str]
    staff: dict[str, str] = Field(description="username -> display name of every agent and supervisor")


def static_labels() -> dict[str, object]:
    departments = {d.code: d.name for d in CATEGORY_DEPARTMENT.values()}
    return {
        "categories": {str(code): label for code, label in CATEGORY_LABELS.items()},
        "severities": {str(code): rule.label for code, rule in SEVERITY_RULES.items()},
        "departments": departments,
        "stages": STAGES,
        "ticket_statuses": dict(workflow.STATUS_LABELS),
        "handoff_statuses": HANDOFF_STATUSES,
        "handoff_reasons": HANDOFF_REASONS,
        "channels": CHANNELS,
        "senders": SENDERS,
        "requests": REQUESTS,
        "fields": FIELDS,
        "hidden_fields": HIDDEN_FIELDS,
        "itinerary_items": ITINERARY_ITEMS,
        "intents": INTENTS,
        "deadlines": DEADLINES,
        "deadline_states": DEADLINE_STATES,
        "compensation_statuses": COMPENSATION_STATUSES,
        "compensation_methods": COMPENSATION_METHODS,
        "loss_types": LOSS_TYPES,
        "roles": ROLES,
    }


@router.get(
    "/labels",
    summary="Chinese labels of every code, field and staff member the console shows (staff)",
    response_model=Labels,
)
def labels(caller: Staff, session: SessionDep) -> Labels:
    staff = dict(session.execute(select(User.username, User.display_name).order_by(User.id)).tuples().all())
    staff.setdefault(SERVICE_ACTOR, SERVICE_NAME)  # notes and audit rows the bot wrote
    return Labels(**static_labels(), staff=staff)
