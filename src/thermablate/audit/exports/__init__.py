"""Exports for registers: a CSV and a FHIR R4 Bundle, both streamed patient by patient."""
