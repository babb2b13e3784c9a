"""A model organism on the embedded model (issue 20): warm-start data, dose data, the stages.

    agentloop experiment scenarios/organism.yaml --epochs 5 --arms off,self,oracle,gate --seeds 3
    python bench/dose.py scenarios/organism.yaml --steps 0,16,48

Settings live in the scenario's `organism:` section (agentloop/config/organism.py, `OrganismSettings`);
`warmstart` and `dose` build data in the agent's answer format; `stage` trains the warm start and doses
the arms' rounds.
"""
