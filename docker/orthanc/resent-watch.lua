-- Written by Nadir: note C-STORE copies of instances Orthanc already holds.
function ReceivedInstanceFilter(dicom, origin, info)
  if origin['RequestOrigin'] ~= 'DicomProtocol' then
    return true
  end
  local uid = dicom['SOPInstanceUID']
  if uid == nil or uid == '' then
    return true
  end
  local hits = ParseJson(RestApiPost('/tools/lookup', uid))
  for _, hit in ipairs(hits) do
    if hit['Type'] == 'Instance' then
      local copy = { Tags = dicom, TransferSyntaxUID = info['TransferSyntaxUID'],
                     RemoteAet = origin['RemoteAet'] }
      RestApiPut('/instances/' .. hit['ID'] .. '/metadata/NadirResent',
                 DumpJson(copy, true))
    end
  end
  return true
end
