from __future__ import annotations

from datetime import date

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base


class Booking(Base):
    __tablename__ = "bookings"

    id: Mapped[int] = mapped_column(primary_key=True)
    ref: Mapped[str] = mapped_column(String(10), unique=True)
    traveller_name: Mapped[str] = mapped_column(String(64))
    phone: Mapped[str] = mapped_column(String(20))
    product: Mapped[str] = mapped_column(String(200))
    destination: Mapped[str] = mapped_column(String(100))
    tour_type: Mapped[str] = mapped_column(String(16))  # domestic | outbound
    departure_date: Mapped[date]
    return_date: Mapped[date]
    travellers: Mapped[int] = mapped_column(default=1)
    price_cny: Mapped[int]
    guide_name: Mapped[str | None] = mapped_column(String(64))
    guide_phone: Mapped[str | None] = mapped_column(String(20))
    itinerary: Mapped[list]
    included: Mapped[list]
    excluded: Mapped[list]
