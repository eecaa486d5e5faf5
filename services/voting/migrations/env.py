from services.kit.migrate import run_env
from services.voting.models import Base

run_env(Base.metadata)
