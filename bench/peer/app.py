# The seed-style peer of `npm run bench:peer`: what the original briefs built, in their own stack —
# Flask under gunicorn, SQLAlchemy over SQLite for the feedback saved in the request, a Celery task
# (Redis broker) for the queued one, and a Redis sorted set counting requests per path (the stats
# brief). Built only from Debian's packages (python3-flask, gunicorn, python3-celery,
# python3-sqlalchemy, python3-redis); started by bench/peer.ts, never by the tests.
import os

import redis
from celery import Celery
from flask import Flask, jsonify, request
from sqlalchemy import Column, Integer, String, Text, create_engine
from sqlalchemy.orm import declarative_base, sessionmaker

DATA_DIR = os.environ["PEER_DATA_DIR"]
REDIS_URL = os.environ.get("PEER_REDIS_URL", "redis://127.0.0.1:6379/14")

engine = create_engine(f"sqlite:///{os.path.join(DATA_DIR, 'peer.sqlite')}", connect_args={"timeout": 30})
Session = sessionmaker(bind=engine)
Base = declarative_base()


class Feedback(Base):
    __tablename__ = "feedback"
    id = Column(Integer, primary_key=True)
    name = Column(String(200), nullable=False)
    email = Column(String(200), nullable=False)
    message = Column(Text, nullable=False)
    rating = Column(Integer, nullable=False)
    via = Column(String(10), nullable=False)


Base.metadata.create_all(engine)

celery = Celery("peer", broker=REDIS_URL)
celery.conf.task_ignore_result = True
counts = redis.Redis.from_url(REDIS_URL)
app = Flask(__name__)


def save(data, via):
    session = Session()
    try:
        row = Feedback(name=data["name"], email=data["email"], message=data["message"], rating=int(data["rating"]), via=via)
        session.add(row)
        session.commit()
        return row.id
    finally:
        session.close()


@celery.task(name="save_feedback")
def save_feedback(data):
    save(data, "async")


def checked(data):
    for field in ("name", "email", "message", "rating"):
        if field not in data:
            return field
    return None


@app.post("/feedback/sync")
def feedback_sync():
    data = request.get_json()
    missing = checked(data)
    if missing:
        return jsonify(error=f"{missing} is required"), 400
    return jsonify(id=save(data, "sync")), 201


@app.post("/feedback/async")
def feedback_async():
    data = request.get_json()
    missing = checked(data)
    if missing:
        return jsonify(error=f"{missing} is required"), 400
    task = save_feedback.delay(data)
    return jsonify(id=task.id, status="queued"), 202


@app.get("/api/<path:rest>")
def counted(rest):
    counts.zincrby("peer:stats", 1, request.path)
    return jsonify(path=request.path)


@app.get("/count")
def count():
    session = Session()
    try:
        return jsonify(sync=session.query(Feedback).filter_by(via="sync").count(), queued=session.query(Feedback).filter_by(via="async").count())
    finally:
        session.close()
